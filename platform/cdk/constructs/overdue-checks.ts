import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { PlatformBundle } from '../../../lambdas/transformer/bundle.js';
import { LEDGER_TABLE } from '../../../lambdas/transformer/ledger/table-design.js';
import type { FeedConfig } from '../../../lambdas/transformer/model.js';
import { FILE_OVERDUE } from '../../../lambdas/transformer/overdue.js';
import { schedulerExpression, type ScheduleConfig } from '../../../lambdas/transformer/schedule.js';
import { bundlingWith, REPO_ROOT, writeBundle } from './transformer-function.js';

export interface OverdueChecksProps {
  /** The validated partner configs the check function carries (it reads the feeds' schedules). */
  readonly bundle: PlatformBundle;
  /** The feeds that declare a `schedule`: one EventBridge Scheduler schedule each. */
  readonly feeds: readonly (FeedConfig & { readonly schedule: ScheduleConfig })[];
  readonly ledgerTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  readonly encryptionKey: kms.IKey;
  /** Partner id -> the topic that mails the partner's owner: `FileOverdue` of its feeds goes there. */
  readonly partnerTopics: ReadonlyMap<string, sns.ITopic>;
  /** Where a failing check function alarms. */
  readonly platformTopic: sns.ITopic;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Expected deliveries: per scheduled feed an EventBridge Scheduler schedule that invokes a small
 * check function at the feed's deadline, in the feed's time zone. The function queries the ledger
 * for a file received since the previous deadline and, if there is none, puts `FileOverdue` on the
 * platform bus; a rule per partner sends those events to the partner's alert topic.
 */
export class OverdueChecks extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly schedules: readonly scheduler.CfnSchedule[];

  constructor(scope: Construct, id: string, props: OverdueChecksProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: "partner-etl overdue check: query the ledger's byPartner index, put FileOverdue on the bus",
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: `${REPO_ROOT}/lambdas/transformer/overdue-handler.ts`,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(60),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        LEDGER_TABLE: props.ledgerTable.tableName,
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        PARTNER_ETL_CONFIG_HASH: props.bundle.configHash,
        POWERTOOLS_SERVICE_NAME: 'partner-etl',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: bundlingWith(writeBundle(props.bundle)),
    });
    logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LedgerByPartner',
        actions: ['dynamodb:Query'],
        resources: [`${props.ledgerTable.tableArn}/index/${LEDGER_TABLE.byPartner.indexName}`],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PlatformKey',
        // read the encrypted ledger; put events on the encrypted bus
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
      }),
    );
    props.eventBus.grantPutEventsTo(role);

    const invoker = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: invoke the partner-etl overdue check, nothing else',
    });
    invoker.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'InvokeCheck', actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
    );

    // Construct ids derive from partner and feed ids: a new schedule adds a resource and moves nothing.
    this.schedules = props.feeds.map(
      (feed) =>
        new scheduler.CfnSchedule(this, `Check-${feed.partner}-${feed.id}`, {
          description: `${feed.partner}/${feed.id}: ${feed.schedule.description}`.slice(0, 512),
          scheduleExpression: schedulerExpression(feed.schedule),
          scheduleExpressionTimezone: feed.schedule.timezone,
          flexibleTimeWindow: { mode: 'OFF' },
          state: 'ENABLED',
          target: {
            arn: this.function.functionArn,
            roleArn: invoker.roleArn,
            input: JSON.stringify({ partner: feed.partner, feed: feed.id }),
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
          },
        }),
    );

    for (const partner of [...new Set(props.feeds.map((f) => f.partner))]) {
      const topic = props.partnerTopics.get(partner);
      if (!topic) throw new Error(`partner ${partner} has no alert topic`);
      const rule = new events.Rule(this, `Overdue-${partner}`, {
        eventBus: props.eventBus,
        description: `${FILE_OVERDUE} of ${partner}'s feeds to its alert topic`,
        eventPattern: { source: ['partner-etl'], detailType: [FILE_OVERDUE], detail: { partner: [partner] } },
      });
      // The topic as the target, with a policy of our own: EventBridge may publish for this rule only
      // (aws-events-targets' SnsTopic grants the service principal without a condition).
      rule.addTarget({ bind: () => ({ arn: topic.topicArn }) });
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `FileOverdueFromRule`,
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
      );
    }

    this.function
      .metricErrors({ period: Duration.minutes(5) })
      .createAlarm(this, 'CheckErrors', {
        alarmDescription: 'The overdue check failed: a late file may have gone unnoticed; see its log group.',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      })
      .addAlarmAction(new actions.SnsAction(props.platformTopic));
  }
}
