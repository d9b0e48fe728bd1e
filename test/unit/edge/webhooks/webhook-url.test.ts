// The webhook URL rule: no loopback, private, link-local, CGNAT, multicast or reserved host in any spelling, no
// internal or single-label name, unless ALLOW_LOCAL_WEBHOOKS=1.
import { describe, expect, it } from "vitest";
import { isBlockedIPv4, parseIPv4, parseIPv6, privateHostProblem } from "../../../../edge/src/webhooks/private-address.ts";
import { webhookUrlProblem } from "../../../../edge/src/webhooks/webhook-url.ts";

const REFUSED = [
  // IPv4 ranges
  "https://127.0.0.1/hook",
  "https://127.255.255.254/",
  "https://10.0.0.1/",
  "https://10.255.255.255/",
  "https://172.16.0.1/",
  "https://172.31.255.255/",
  "https://192.168.1.1/",
  "https://169.254.169.254/latest/meta-data/",
  "https://100.64.0.1/",
  "https://100.127.255.255/",
  "https://0.0.0.0/",
  "https://0.1.2.3/",
  "https://224.0.0.1/",
  "https://239.255.255.250/",
  "https://240.0.0.1/",
  "https://255.255.255.255/",
  "https://192.0.0.8/",
  "https://198.18.0.1/",
  "https://127.0.0.1.:8443/",
  // other spellings of IPv4 addresses
  "https://2130706433/",
  "https://0x7f000001/",
  "https://0x7f.0.0.1/",
  "https://0x7F.1/",
  "https://0177.0.0.1/",
  "https://017700000001/",
  "https://127.1/",
  "https://127.0.1/",
  "https://0/",
  "https://3232235777/",
  "https://0xa9.0xfe.0xa9.0xfe/",
  "https://0251.0376.0251.0376/",
  "https://%31%32%37.0.0.1/",
  // IPv6
  "https://[::1]/",
  "https://[0:0:0:0:0:0:0:1]/",
  "https://[::]/",
  "https://[fc00::1]/",
  "https://[fd12:3456:789a::1]/",
  "https://[fe80::1]/",
  "https://[febf::1]/",
  "https://[fec0::1]/",
  "https://[ff02::1]/",
  "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:7f00:1]/",
  "https://[::ffff:10.0.0.1]/",
  "https://[::ffff:169.254.169.254]/",
  "https://[0:0:0:0:0:ffff:c0a8:0101]/",
  "https://[::ffff:0:127.0.0.1]/",
  "https://[::127.0.0.1]/",
  "https://[64:ff9b::7f00:1]/",
  "https://[2002:7f00:1::]/",
  "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
  "https://[2001:db8::1]/",
  // internal names
  "https://localhost/",
  "https://LOCALHOST./",
  "https://api.localhost/",
  "https://metadata.google.internal/",
  "https://printer.local/",
  "https://router.home.arpa/",
  "https://intranet/",
  "https://metadata/",
  "https://box.lan/",
];

const ACCEPTED = [
  "https://hooks.example.com/edgecast",
  "https://hooks.example.com:8443/x?y=1",
  "https://8.8.8.8/",
  "https://1.1.1.1/",
  "https://172.15.255.255/",
  "https://172.32.0.1/",
  "https://100.63.255.255/",
  "https://100.128.0.1/",
  "https://169.253.0.1/",
  "https://192.169.0.1/",
  "https://[2606:4700:4700::1111]/",
  "https://[::ffff:8.8.8.8]/",
  "https://localhost.example.com/",
  "https://internal.example.com/",
  "https://example.local.example.com/",
];

describe("webhookUrlProblem in production (ALLOW_LOCAL_WEBHOOKS unset)", () => {
  it.each(REFUSED)("refuses %s", (url) => {
    expect(webhookUrlProblem(url, false)).toMatch(/ALLOW_LOCAL_WEBHOOKS=1|host/);
  });

  it.each(ACCEPTED)("accepts %s", (url) => {
    expect(webhookUrlProblem(url, false)).toBeNull();
  });

  it("refuses http://, other schemes, credentials and non-URLs", () => {
    expect(webhookUrlProblem("http://hooks.example.com/x", false)).toMatch(/https/);
    expect(webhookUrlProblem("http://127.0.0.1:8080/x", false)).toMatch(/ALLOW_LOCAL_WEBHOOKS/);
    expect(webhookUrlProblem("ftp://hooks.example.com/x", false)).toMatch(/https/);
    expect(webhookUrlProblem("https://u:p@hooks.example.com/x", false)).toMatch(/credentials/);
    expect(webhookUrlProblem("hooks.example.com/x", false)).toMatch(/absolute/);
  });
});

describe("webhookUrlProblem with ALLOW_LOCAL_WEBHOOKS=1", () => {
  it("accepts every https:// host and http:// to loopback names only", () => {
    for (const url of REFUSED) expect(webhookUrlProblem(url, true), url).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1:9/x", true)).toBeNull();
    expect(webhookUrlProblem("http://localhost:8080/x", true)).toBeNull();
    expect(webhookUrlProblem("http://[::1]:8080/x", true)).toBeNull();
    expect(webhookUrlProblem("http://10.0.0.1/x", true)).toMatch(/https/);
    expect(webhookUrlProblem("http://127.0.0.1.example.test/x", true)).toMatch(/https/);
  });
});

describe("host parsing without a URL parser's help", () => {
  it("reads every IPv4 spelling inet_aton accepts", () => {
    const loopback = 0x7f000001;
    for (const host of [
      "127.0.0.1",
      "127.1",
      "127.0.1",
      "2130706433",
      "0x7f000001",
      "0x7f.0.0.1",
      "0177.0.0.1",
      "0177.0.0.01",
      "0x7F.0x0.0x0.0x1",
      "127.0.0.1.",
    ]) {
      expect(parseIPv4(host), host).toBe(loopback);
    }
    for (const host of ["256.0.0.1", "1.2.3.4.5", "1.2.3.256", "4294967296", "example.com", "0x", "08.0.0.1", "1..2"]) {
      if (host === "0x") expect(parseIPv4(host)).toBe(0);
      else expect(parseIPv4(host), host).toBeNull();
    }
    expect(isBlockedIPv4(parseIPv4("0x0a.1")!)).toBe(true);
  });

  it("reads IPv6 with ::, a dotted tail, and refuses malformed ones", () => {
    expect(parseIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("::ffff:127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6("fe80::")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 0]);
    for (const bad of ["1:2:3", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::ffff:300.0.0.1", "g::1"]) {
      expect(parseIPv6(bad), bad).toBeNull();
    }
  });

  it("judges hostnames the way URL.hostname gives them, raw spellings included", () => {
    expect(privateHostProblem("0x7f.1")).toMatch(/IPv4/);
    expect(privateHostProblem("017700000001")).toMatch(/IPv4/);
    expect(privateHostProblem("[::ffff:a9fe:a9fe]")).toMatch(/IPv6/);
    expect(privateHostProblem("::1")).toMatch(/IPv6/);
    expect(privateHostProblem("1.2.3.999")).toMatch(/neither/);
    expect(privateHostProblem("")).toMatch(/no host/);
    expect(privateHostProblem("hooks.example.com.")).toBeNull();
  });
});
