/** CloudWatch names the handler emits (EMF) and the CDK alarms and dashboard read. */
export const METRICS = {
  namespace: 'PartnerEtl',
  dimensions: { partner: 'partner', feed: 'feed' },
  filesByStatus: (status: string) => `Files${status.charAt(0)}${status.slice(1).toLowerCase()}`,
  rowsIn: 'RowsIn',
  rowsOut: 'RowsOut',
  rowsRejected: 'RowsRejected',
  bytesIn: 'BytesIn',
  durationMs: 'FileDurationMs',
  /** Rows where a compiled mapping expression handed over to the interpreter (a slowdown, by design or not). */
  mappingFallbacks: 'MappingFallbacks',
  /** Of those, rows where the compiled closure threw something other than a deferral: a compiler bug. */
  mappingCompilerErrors: 'MappingCompilerErrors',
  /** An error an attempt handled itself (a failed cleanup, a publication step tried again): see AttemptStep. */
  stepFailures: 'AttemptStepFailures',
  /** Files whose header differs from the feed's configuration (HEADER_DRIFT): renamed, added, missing or reordered columns. */
  headerDrift: 'HeaderDrift',
} as const;

/** Names of the events on the downstream bus. */
export const EVENTS = {
  source: 'partner-etl',
  processed: 'FileProcessed',
  failed: 'FileFailed',
} as const;
