import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FeedConfig, PartnerConfig } from '../../../lambdas/transformer/model.js';
import { METRICS } from '../../../lambdas/transformer/metrics-names.js';

export interface MonitoredFeed {
  readonly feed: FeedConfig;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
}

export interface MonitoringProps {
  readonly partners: readonly PartnerConfig[];
  readonly feeds: readonly MonitoredFeed[];
  readonly function: lambda.IFunction;
  readonly functionTimeout: Duration;
  readonly encryptionKey: kms.IKey;
  readonly dashboardName: string;
}

/**
 * Alarms and the dashboard. Platform alarms (function errors and throttles) go to the platform
 * topic; each feed's alarms (dead-letter queue not empty, oldest message too old, rejected-row ratio
 * over the feed's threshold, a drifted header) go to the platform topic and to its partner's topic, which mails the
 * partner's `owner`. The dashboard has a row per partner.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  /** Partner id -> the topic that mails the partner's owner. */
  readonly partnerTopics: ReadonlyMap<string, sns.Topic>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { masterKey: props.encryptionKey, enforceSSL: true });
    const platformAction = new actions.SnsAction(this.alarmTopic);

    const fn = props.function;
    const fnAlarms = [
      fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }).createAlarm(this, 'FunctionErrors', {
        alarmDescription: 'The transformer threw: a file may be waiting for retry or heading to a dead-letter queue.',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }).createAlarm(this, 'FunctionThrottles', {
        alarmDescription: 'The transformer is throttled: raise the account concurrency or lower feed concurrency.',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of fnAlarms) alarm.addAlarmAction(platformAction);

    const partnerTopics = new Map<string, sns.Topic>();
    for (const partner of props.partners) {
      const topic = new sns.Topic(this, `Alerts-${partner.id}`, { masterKey: props.encryptionKey, enforceSSL: true });
      topic.addSubscription(new subscriptions.EmailSubscription(partner.owner));
      partnerTopics.set(partner.id, topic);
    }
    this.partnerTopics = partnerTopics;

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '# partner-etl\nFunction health, then one row per partner.', width: 24, height: 2 }),
      new cloudwatch.GraphWidget({ title: 'Transformer errors and throttles', left: [fn.metricErrors(), fn.metricThrottles()], width: 12 }),
      new cloudwatch.GraphWidget({ title: 'Transformer duration', left: [fn.metricDuration({ statistic: 'p95' })], width: 12 }),
    );

    for (const partner of props.partners) {
      const feeds = props.feeds.filter((f) => f.feed.partner === partner.id);
      const partnerAction = new actions.SnsAction(partnerTopics.get(partner.id)!);
      const files: cloudwatch.IMetric[] = [];
      const rows: cloudwatch.IMetric[] = [];
      const queues: cloudwatch.IMetric[] = [];
      for (const { feed, queue, deadLetterQueue } of feeds) {
        const name = `${feed.partner}-${feed.id}`;
        const metric = (metricName: string) =>
          new cloudwatch.Metric({
            namespace: METRICS.namespace,
            metricName,
            dimensionsMap: { [METRICS.dimensions.partner]: feed.partner, [METRICS.dimensions.feed]: feed.id },
            statistic: 'Sum',
            period: Duration.minutes(5),
            label: `${feed.id} ${metricName}`,
          });
        const rowsIn = metric(METRICS.rowsIn);
        const rowsRejected = metric(METRICS.rowsRejected);
        const alarms = [
          deadLetterQueue
            .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
            .createAlarm(this, `${name}-DeadLetters`, {
              alarmDescription: `${feed.partner}/${feed.id}: files in the dead-letter queue were not processed; see partner-etl status.`,
              threshold: 0,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
              evaluationPeriods: 1,
              treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            }),
          queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }).createAlarm(this, `${name}-OldestMessage`, {
            alarmDescription: `${feed.partner}/${feed.id}: a file has waited longer than two function timeouts.`,
            threshold: props.functionTimeout.toSeconds() * 2,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
          new cloudwatch.MathExpression({
            expression: 'IF(rowsIn > 0, 100 * rejected / rowsIn, 0)',
            usingMetrics: { rejected: rowsRejected, rowsIn },
            period: Duration.minutes(5),
            label: `${feed.id} rejected %`,
          }).createAlarm(this, `${name}-RejectedRows`, {
            alarmDescription: `${feed.partner}/${feed.id}: more than ${feed.errors.maxRejectedPercent}% of rows rejected.`,
            threshold: feed.errors.maxRejectedPercent,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
          // The partner changed the file's header (HEADER_DRIFT): the owner hears of it before a renamed column fails a file.
          metric(METRICS.headerDrift).createAlarm(this, `${name}-HeaderDrift`, {
            alarmDescription: `${feed.partner}/${feed.id}: a file's header differs from the feed's config; partner-etl drift <key> prints the change.`,
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        ];
        for (const alarm of alarms) {
          alarm.addAlarmAction(platformAction);
          alarm.addAlarmAction(partnerAction);
        }
        files.push(...['SUCCEEDED', 'PARTIAL', 'FAILED', 'DUPLICATE'].map((s) => metric(METRICS.filesByStatus(s))));
        rows.push(rowsIn, metric(METRICS.rowsOut), rowsRejected);
        queues.push(queue.metricApproximateNumberOfMessagesVisible({ label: `${feed.id} queued` }));
        queues.push(deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: `${feed.id} dead letters` }));
      }
      dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## ${partner.name} (\`${partner.id}\`)\nowner: ${partner.owner}`, width: 24, height: 1 }),
        new cloudwatch.GraphWidget({ title: `${partner.id}: files by status`, left: files, width: 8 }),
        new cloudwatch.GraphWidget({ title: `${partner.id}: rows in / out / rejected`, left: rows, width: 8 }),
        new cloudwatch.GraphWidget({ title: `${partner.id}: queues`, left: queues, width: 8 }),
      );
    }
  }
}
