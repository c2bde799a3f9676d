import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../platform/cdk/app.js';
import { stackNameOf } from '../../../platform/cdk/partner-etl-stack.js';

const REPO = join(import.meta.dirname, '../../..');

function synth(root: string): Template {
  const app = buildApp({ root, stage: 'dev', outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
  app.synth();
  return Template.fromStack(app.node.findChild(stackNameOf('dev')) as Stack);
}

/** The repository's partners with two feeds scheduled: acme/orders daily, globex/shipments on weekday evenings plus grace. */
function scheduledConfig(): string {
  const root = mkdtempSync(join(tmpdir(), 'partner-etl-cdk-'));
  cpSync(join(REPO, 'partners'), join(root, 'partners'), { recursive: true });
  cpSync(join(REPO, 'mappings'), join(root, 'mappings'), { recursive: true });
  const add = (file: string, after: string, schedule: string) => {
    const text = readFileSync(join(root, file), 'utf8');
    if (!text.includes(after)) throw new Error(`${file} lacks ${after}`);
    writeFileSync(join(root, file), text.replace(after, `${after}${schedule}`));
  };
  add('partners/acme.yaml', '      dataset: orders\n', '    schedule: { every: day, by: "06:00", timezone: Europe/Berlin }\n');
  add(
    'partners/globex.yaml',
    '      format: ndjson\n',
    '    schedule: { cron: "0 22 * * MON-FRI", grace: 3h, timezone: America/New_York }\n',
  );
  return root;
}

let template: Template;
beforeAll(() => {
  template = synth(scheduledConfig());
}, 180_000);

describe('overdue checks (EventBridge Scheduler)', () => {
  it('creates one schedule per scheduled feed, at its deadline in its time zone, invoking the check with the feed', () => {
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(2);
    const byInput = Object.fromEntries(schedules.map((s) => [s.Properties.Target.Input, s.Properties]));
    expect(byInput['{"partner":"acme","feed":"orders"}']).toMatchObject({
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [expect.stringMatching(/^OverdueChecksFunction/), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^OverdueChecksSchedulerRole/), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      },
    });
    // 22:00 Monday to Friday plus 3 h: 01:00 Tuesday to Saturday
    expect(byInput['{"partner":"globex","feed":"shipments"}']).toMatchObject({
      ScheduleExpression: 'cron(0 1 ? * TUE,WED,THU,FRI,SAT *)',
      ScheduleExpressionTimezone: 'America/New_York',
    });
  });

  it('lets the scheduler invoke only the check, on behalf of this account', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('OverdueChecksSchedulerRole'),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'InvokeCheck',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^OverdueChecksFunction/), 'Arn'] },
      },
    ]);
  });

  it('gives the check function a Query on the byPartner index and PutEvents on the bus, and no write to the ledger', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).match(/"OverdueChecksRole[0-9A-F]+"/),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'dynamodb:Query',
      'events:PutEvents',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    const query = statements.find((s) => s.Action === 'dynamodb:Query')!;
    expect(JSON.stringify(query.Resource)).toContain('/index/byPartner');
  });

  it('sends FileOverdue of each partner to that partner alert topic, and alarms when the check fails', () => {
    for (const partner of ['acme', 'globex']) {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['partner-etl'], 'detail-type': ['FileOverdue'], detail: { partner: [partner] } },
        Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp(`^MonitoringAlerts${partner}`) } })],
      });
      // EventBridge may publish to the topic only for that rule
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: Match.stringLikeRegexp(`^MonitoringAlerts${partner}`) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'sns:Publish',
              Principal: { Service: 'events.amazonaws.com' },
              Condition: {
                ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp(`^OverdueChecksOverdue${partner}`), 'Arn'] } },
              },
            }),
          ]),
        },
      });
    }
    const unbound = Object.values(template.findResources('AWS::SNS::TopicPolicy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Effect: string; Condition?: unknown }[])
      .filter((s) => s.Effect === 'Allow' && !s.Condition);
    expect(unbound).toEqual([]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^OverdueChecksFunction') } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') }],
    });
  });

  it('adds nothing to a stack whose feeds declare no schedule', () => {
    const plain = synth(REPO);
    expect(Object.keys(plain.findResources('AWS::Scheduler::Schedule'))).toHaveLength(0);
    expect(JSON.stringify(plain.toJSON())).not.toContain('OverdueChecks');
  });
});
