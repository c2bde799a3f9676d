import { Aws, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as transfer from 'aws-cdk-lib/aws-transfer';
import { Construct } from 'constructs';
import type { PartnerConfig } from '../../../lambdas/transformer/model.js';
import { acknowledge, wildcardResourceFinding } from '../nag.js';
import { acknowledgePartnerPrefixes, partnerObjectArns, UPLOAD_ACTIONS, usePlatformKeyThroughS3 } from './partner-upload.js';

export interface SftpServerProps {
  /** The partners that asked for SFTP (`access.sftp`); the server exists only when there is one. */
  readonly partners: readonly PartnerConfig[];
  readonly inboundBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The SFTP user name of a partner: its id. */
export const sftpUserName = (partner: PartnerConfig): string => partner.id;

/**
 * One AWS Transfer Family SFTP server (public endpoint, service-managed SSH keys, the 2024 security
 * policy, JSON logs), and per partner a user whose logical home `/` is the partner's prefix in the
 * inbound bucket. Each user's role may put objects under the partner's feed prefixes and list under
 * the partner's prefix (an SFTP client needs to change into its folders); it may not read or delete.
 */
export class SftpServer extends Construct {
  readonly server: transfer.CfnServer;
  readonly users: { readonly partner: PartnerConfig; readonly user: transfer.CfnUser }[];

  constructor(scope: Construct, id: string, props: SftpServerProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const loggingRole = new iam.Role(this, 'LoggingRole', {
      assumedBy: transferPrincipal(`arn:${Aws.PARTITION}:transfer:${Aws.REGION}:${Aws.ACCOUNT_ID}:server/*`),
      description: 'partner-etl: the SFTP server writes its session logs',
    });
    loggingRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteSessionLogs',
        actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        resources: [`${logGroup.logGroupArn}:*`],
      }),
    );
    acknowledge(loggingRole, [
      { id: wildcardResourceFinding(logGroup, ':*'), reason: "The server's log streams are named per session; only its own log group." },
    ]);
    this.server = new transfer.CfnServer(this, 'Server', {
      protocols: ['SFTP'],
      endpointType: 'PUBLIC',
      identityProviderType: 'SERVICE_MANAGED',
      domain: 'S3',
      securityPolicyName: 'TransferSecurityPolicy-2024-01',
      loggingRole: loggingRole.roleArn,
      structuredLogDestinations: [logGroup.logGroupArn],
    });

    this.users = props.partners.map((partner) => {
      const publicKeys = partner.access?.sftp?.publicKeys ?? [];
      if (publicKeys.length === 0) throw new Error(`partner ${partner.id} has no access.sftp.publicKeys: it needs no SFTP user`);
      const role = new iam.Role(this, `Role-${partner.id}`, {
        assumedBy: transferPrincipal(`arn:${Aws.PARTITION}:transfer:${Aws.REGION}:${Aws.ACCOUNT_ID}:user/${this.server.attrServerId}/*`),
        description: `partner-etl: ${partner.id}'s SFTP user uploads files under its feed prefixes (write only)`,
      });
      const objects = partnerObjectArns(partner, props.inboundBucket);
      const policy = new iam.Policy(this, `Policy-${partner.id}`, {
        roles: [role],
        statements: [
          new iam.PolicyStatement({ sid: 'UploadUnderFeedPrefixes', actions: [...UPLOAD_ACTIONS], resources: objects }),
          new iam.PolicyStatement({
            // SFTP clients list the folder they change into; only names under the partner's own prefix.
            sid: 'ListOwnPrefix',
            actions: ['s3:ListBucket'],
            resources: [props.inboundBucket.bucketArn],
            conditions: { StringLike: { 's3:prefix': [`${partner.id}/`, `${partner.id}/*`] } },
          }),
          usePlatformKeyThroughS3(props.encryptionKey),
        ],
      });
      acknowledgePartnerPrefixes(policy, partner, props.inboundBucket);
      const user = new transfer.CfnUser(this, `User-${partner.id}`, {
        serverId: this.server.attrServerId,
        userName: sftpUserName(partner),
        role: role.roleArn,
        homeDirectoryType: 'LOGICAL',
        homeDirectoryMappings: [{ entry: '/', target: `/${props.inboundBucket.bucketName}/${partner.id}` }],
        sshPublicKeys: [...publicKeys],
      });
      return { partner, user };
    });
  }

  /** The host name partners connect to. */
  get endpoint(): string {
    return `${this.server.attrServerId}.server.transfer.${Aws.REGION}.amazonaws.com`;
  }
}

/** Transfer Family, only on behalf of this account's server or users (no confused deputy). */
function transferPrincipal(sourceArn: string): iam.IPrincipal {
  return new iam.ServicePrincipal('transfer.amazonaws.com').withConditions({
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'aws:SourceArn': sourceArn },
  });
}
