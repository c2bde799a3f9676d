/** The names `partner-etl status|reprocess --stage S` reads from the stack's outputs (no CDK import needed). */
export const STACK_OUTPUTS = {
  inboundBucket: 'InboundBucketName',
  outputBucket: 'OutputBucketName',
  rejectsBucket: 'RejectsBucketName',
  ledgerTable: 'LedgerTableName',
  eventBus: 'EventBusName',
  alarmTopic: 'AlarmTopicArn',
  /** JSON object: partner id -> the ARN of its write-only upload role. */
  uploadRoles: 'PartnerUploadRoleArns',
  /** Only when some partner has `access.sftp`: the SFTP host name, and partner id -> SFTP user name (JSON). */
  sftpEndpoint: 'SftpEndpoint',
  sftpUsers: 'PartnerSftpUsers',
  /** JSON object: `partner/feed` -> queue URL (for `partner-etl reprocess --stage`). */
  feedQueues: 'FeedQueueUrls',
} as const;

/** The stack name of a stage: `PartnerEtl-<stage>`. */
export function stackNameOf(stage: string): string {
  return `PartnerEtl-${stage}`;
}
