// Minting node credentials: the admin API's and a node's own registration share this one write.
import { sql } from "drizzle-orm";
import type { AnyD1Database } from "drizzle-orm/d1";
import { drizzle } from "drizzle-orm/d1";
import { ingestNodes } from "../db/schema.ts";
import { newSecret, sha256Hex } from "./secrets.ts";

/** Prefix of every minted node credential, so a leaked one is recognizable in secret scanners. */
export const NODE_CREDENTIAL_PREFIX = "nc";

/** What a new credential is for. */
export interface CredentialGrant {
  nodeId: string;
  /** The node's region from now on: the only one it is offered to streamers in. */
  region: string;
  /** An RTMP URL the admin fixes for the node, or null to keep one accepted before (same region only). */
  rtmpUrl: string | null;
  expiresInSeconds: number;
}

/** A minted credential (the secret itself is returned once and stored only as its SHA-256). */
export interface MintedCredential {
  credential: string;
  expiresAt: string;
}

/**
 * Mints node `nodeId`'s credential as the admin, replacing the previous one, whoever minted it. The node's RTMP URL
 * survives only when the region stays the same and no new one is given: a URL accepted for one region is never
 * offered in another.
 */
export async function mintNodeCredential(db: AnyD1Database, grant: CredentialGrant): Promise<MintedCredential> {
  const minted = await writeCredential(db, grant, "admin");
  if (!minted) throw new Error("unreachable: an admin mint is unconditional");
  return minted;
}

/**
 * Mints node `nodeId`'s credential for its own registration (the bootstrap secret), or returns null when the node holds
 * an admin-minted credential that has not expired: the bootstrap secret must not take over a node the admin
 * provisioned. Checked inside the upsert, so a registration racing an admin mint cannot slip between check and write.
 */
export async function registerNodeCredential(db: AnyD1Database, grant: CredentialGrant): Promise<MintedCredential | null> {
  return writeCredential(db, grant, "registered");
}

async function writeCredential(db: AnyD1Database, grant: CredentialGrant, source: "admin" | "registered"): Promise<MintedCredential | null> {
  const credential = newSecret(NODE_CREDENTIAL_PREFIX);
  const now = new Date();
  const expiresAt = new Date(now.getTime() + grant.expiresInSeconds * 1000).toISOString();
  const credentialHash = await sha256Hex(credential);
  const rtmpUrl = grant.rtmpUrl ?? sql`CASE WHEN ${ingestNodes.region} = ${grant.region} THEN ${ingestNodes.rtmpUrl} ELSE '' END`;
  // ISO-8601 UTC strings of one format compare in time order. A null expiry never expires (see requireNode).
  const replaceable =
    source === "admin"
      ? undefined
      : sql`${ingestNodes.credentialSource} = 'registered' OR ${ingestNodes.credentialHash} IS NULL OR (${ingestNodes.credentialExpiresAt} IS NOT NULL AND ${ingestNodes.credentialExpiresAt} <= ${now.toISOString()})`;
  const written = await drizzle(db)
    .insert(ingestNodes)
    // Until its first accepted heartbeat (or the admin's URL) the node is not offered to streamers.
    .values({ id: grant.nodeId, region: grant.region, rtmpUrl: grant.rtmpUrl ?? "", credentialHash, credentialExpiresAt: expiresAt, credentialSource: source })
    .onConflictDoUpdate({
      target: ingestNodes.id,
      set: { region: grant.region, rtmpUrl, credentialHash, credentialExpiresAt: expiresAt, credentialSource: source },
      setWhere: replaceable,
    })
    .returning({ id: ingestNodes.id });
  return written.length === 0 ? null : { credential, expiresAt };
}
