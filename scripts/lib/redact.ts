// Keeps secrets out of what the scripts print: stream keys in rtmp URLs, and any edge-issued secret (`sk_…`).
import { REDACTED, secretsOf } from "../../ingest-node/src/transcode/redact.ts";

// rtmp://host/app/<key…>: everything after the app name is the key (a bare rtmp://host/app is a server URL, kept).
const RTMP_WITH_KEY = /(rtmps?:\/\/[^\s'"/]+\/[^\s'"/?#]+\/)[^\s'"]+/gi;
// The edge issues secrets as `<prefix>_<32 base64url chars>` (edge/src/auth/secrets.ts: 24 random bytes).
const ISSUED_SECRET = /\b([a-z]{2,5})_[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/g;

/** `text` with stream keys cut from rtmp URLs, the keys in the URLs of `args` removed, edge-issued secrets masked. */
export function redactSecrets(text: string, args: readonly string[] = []): string {
  let out = text.replace(RTMP_WITH_KEY, `$1${REDACTED}`).replace(ISSUED_SECRET, `$1_${REDACTED}`);
  for (const secret of secretsOf(args)) out = out.split(secret).join(REDACTED);
  return out;
}
