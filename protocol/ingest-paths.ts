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
  storyboardSheet: (streamId: string, sheet: number) => `${INGEST_PREFIX}/streams/${streamId}/storyboard/${sheet}`,
  init: (streamId: string, rendition: string) => `${INGEST_PREFIX}/streams/${streamId}/renditions/${rendition}/init`,
  part: (streamId: string, rendition: string, msn: number, part: number) => `${INGEST_PREFIX}/streams/${streamId}/renditions/${rendition}/parts/${msn}/${part}`,
  segment: (streamId: string, rendition: string, msn: number) => `${INGEST_PREFIX}/streams/${streamId}/renditions/${rendition}/segments/${msn}`,
};

/** Header carrying a worker grant (the pool's transcode workers send it instead of a node credential). */
export const WORKER_GRANT_HEADER = "x-worker-grant";

/** Paths a transcode worker calls on the edge, under its grant: read the source, upload rungs. */
export const workerPaths = {
  sourceInit: (streamId: string, rendition: string, epoch: number) => `${INGEST_PREFIX}/worker/streams/${streamId}/renditions/${rendition}/init/${epoch}`,
  sourceSegment: (streamId: string, rendition: string, msn: number) => `${INGEST_PREFIX}/worker/streams/${streamId}/renditions/${rendition}/segments/${msn}`,
  init: (streamId: string, rendition: string) => `${INGEST_PREFIX}/worker/streams/${streamId}/renditions/${rendition}/init`,
  segment: (streamId: string, rendition: string, msn: number) => `${INGEST_PREFIX}/worker/streams/${streamId}/renditions/${rendition}/segments/${msn}`,
};
