import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, Readable } from 'node:stream';
import type { ByteRange, ObjectStore, PendingUpload, SourceObject } from './object-store.js';

/** 8 MiB parts: few requests per file, bounded memory (lib-storage holds up to queueSize parts). */
const PART_SIZE = 8 * 1024 * 1024;

/** The object store on S3: streamed GetObject, multipart uploads through lib-storage. */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async open(bucket: string, key: string, versionId?: string, range?: ByteRange): Promise<SourceObject | undefined> {
    try {
      const result = await this.s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: versionId,
          ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
        }),
      );
      return { body: result.Body as Readable, size: result.ContentLength ?? 0 };
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      if (err instanceof S3ServiceException && (err.name === 'NoSuchVersion' || err.$metadata.httpStatusCode === 404)) return undefined;
      // An invalid version id for an unversioned object answers 400 InvalidArgument.
      if (err instanceof S3ServiceException && err.name === 'InvalidArgument' && versionId) return undefined;
      throw err;
    }
  }

  upload(bucket: string, key: string, contentType: string): PendingUpload {
    const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: bucket, Key: key, Body: stream, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const done = upload.done();
    done.catch(() => undefined); // observed in commit(); an abort rejects it on purpose
    return {
      stream,
      async commit() {
        stream.end();
        await done;
      },
      async abort() {
        await upload.abort();
        stream.destroy();
      },
    };
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
}
