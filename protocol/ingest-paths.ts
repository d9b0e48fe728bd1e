// URL paths of the edge's ingest API, built in one place for the node and matched by the edge's routes.

/** Path prefix of the ingest API. */
export const INGEST_PREFIX = "/ingest/v1";

/** Paths an ingest node calls on the edge. */
export const ingestPaths = {
  publish: () => `${INGEST_PREFIX}/publish`,
  unpublish: () => `${INGEST_PREFIX}/unpublish`,
  nodeHeartbeat: () => `${INGEST_PREFIX}/nodes/heartbeat`,
  nodeRegister: () => `${INGEST_PREFIX}/nodes/register`,
  streamHeartbeat: (streamId: string) => `${INGEST_PREFIX}/streams/${streamId}/heartbeat`,
  thumbnail: (streamId: string) => `${INGEST_PREFIX}/streams/${streamId}/thumbnail`,
  init: (streamId: string, rendition: string) => `${INGEST_PREFIX}/streams/${streamId}/renditions/${rendition}/init`,
  part: (streamId: string, rendition: string, msn: number, part: number) => `${INGEST_PREFIX}/streams/${streamId}/renditions/${rendition}/parts/${msn}/${part}`,
  segment: (streamId: string, rendition: string, msn: number) => `${INGEST_PREFIX}/streams/${streamId}/renditions/${rendition}/segments/${msn}`,
};
