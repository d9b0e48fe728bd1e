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
 * Mints node `nodeId`'s credential, replacing the previous one. The node's RTMP URL survives only when the region
 * stays the same and no new one is given: a URL accepted for one region is never offered in another.
 */
export async function mintNodeCredential(db: AnyD1Database, grant: CredentialGrant): Promise<MintedCredential> {
  const credential = newSecret(NODE_CREDENTIAL_PREFIX);
  const expiresAt = new Date(Date.now() + grant.expiresInSeconds * 1000).toISOString();
  const credentialHash = await sha256Hex(credential);
  const rtmpUrl = grant.rtmpUrl ?? sql`CASE WHEN ${ingestNodes.region} = ${grant.region} THEN ${ingestNodes.rtmpUrl} ELSE '' END`;
  await drizzle(db)
    .insert(ingestNodes)
    // Until its first accepted heartbeat (or the admin's URL) the node is not offered to streamers.
    .values({ id: grant.nodeId, region: grant.region, rtmpUrl: grant.rtmpUrl ?? "", credentialHash, credentialExpiresAt: expiresAt })
    .onConflictDoUpdate({ target: ingestNodes.id, set: { region: grant.region, rtmpUrl, credentialHash, credentialExpiresAt: expiresAt } });
  return { credential, expiresAt };
}
