import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Telemetry } from './create-handler.js';
import { listedErrors } from './engine/outcome.js';
import { PoisonMessageError } from './intake.js';
import { METRICS } from './metrics-names.js';
import { RetryLaterError } from './process-object.js';

/** Structured JSON logs (partner, feed, key, request id) and EMF metrics per partner and feed. */
export function powertoolsTelemetry(logger: Logger, metrics: Metrics): Telemetry {
  return {
    finished(result, object, requestId) {
      const fields = { partner: result.feed.partner, feed: result.feed.id, key: object.key, versionId: object.versionId, requestId };
      if (result.kind === 'busy') {
        logger.info('file is held by another attempt; retrying later', { ...fields, leaseUntil: result.leaseUntil });
        return;
      }
      if (result.kind === 'handed-over') {
        logger.info('file handed over to a split run', { ...fields, run: result.run, attempt: result.attempt });
        return;
      }
      if (result.kind === 'already-finished') {
        logger.info('duplicate delivery of a finished file', { ...fields, status: result.record.status });
        return;
      }
      const o = result.outcome;
      const log = result.status === 'FAILED' ? logger.warn.bind(logger) : logger.info.bind(logger);
      log('file finished', {
        ...fields,
        status: result.status,
        attempt: result.attempt,
        rowsIn: o.rowsIn,
        rowsOut: o.rowsOut,
        rowsRejected: o.rowsRejected,
        durationMs: o.durationMs,
        errors: listedErrors(o.errors),
      });
      // `message` is the log line's own key in Powertools: the warning's text goes under `warning`.
      for (const w of o.warnings ?? [])
        logger.warn('header drift: the partner changed the header', { ...fields, code: w.code, warning: w.message });
      // One EMF document per file, dimensioned by partner and feed.
      metrics.addDimensions({ [METRICS.dimensions.partner]: result.feed.partner, [METRICS.dimensions.feed]: result.feed.id });
      metrics.addMetric(METRICS.filesByStatus(result.status), MetricUnit.Count, 1);
      metrics.addMetric(METRICS.rowsIn, MetricUnit.Count, o.rowsIn);
      metrics.addMetric(METRICS.rowsOut, MetricUnit.Count, o.rowsOut);
      metrics.addMetric(METRICS.rowsRejected, MetricUnit.Count, o.rowsRejected);
      metrics.addMetric(METRICS.bytesIn, MetricUnit.Bytes, o.bytesIn);
      metrics.addMetric(METRICS.durationMs, MetricUnit.Milliseconds, o.durationMs);
      metrics.addMetric(METRICS.headerDrift, MetricUnit.Count, o.warnings?.some((w) => w.code === 'HEADER_DRIFT') ? 1 : 0);
      const fallbacks = o.mappingFallbacks ?? [];
      metrics.addMetric(
        METRICS.mappingFallbacks,
        MetricUnit.Count,
        fallbacks.reduce((n, f) => n + f.deferred + f.errors, 0),
      );
      metrics.addMetric(
        METRICS.mappingCompilerErrors,
        MetricUnit.Count,
        fallbacks.reduce((n, f) => n + f.errors, 0),
      );
      for (const f of fallbacks.filter((x) => x.errors > 0)) {
        logger.error('compiled mapping threw; the interpreter decided those rows (a compiler bug)', { ...fields, ...f });
      }
      metrics.publishStoredMetrics();
      metrics.clearDimensions();
    },
    stepFailed(step, error, object, requestId) {
      logger.error('an attempt step failed; the attempt handled it (see step)', {
        step,
        key: object.key,
        versionId: object.versionId,
        requestId,
        error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      });
      metrics.addMetric(METRICS.stepFailures, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
    failed(error, messageId, requestId) {
      const fields = { messageId, requestId, error: error instanceof Error ? { name: error.name, message: error.message } : String(error) };
      if (error instanceof RetryLaterError) logger.info('message left for redelivery', fields);
      else if (error instanceof PoisonMessageError) logger.error('poison message: it will reach the dead-letter queue', fields);
      else
        logger.error('attempt failed; the message will be redelivered', {
          ...fields,
          stack: error instanceof Error ? error.stack : undefined,
        });
    },
  };
}
