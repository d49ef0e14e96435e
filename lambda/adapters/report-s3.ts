// Writes each run's report to the state bucket (reports/<date>.md and .json) and, when a topic is configured, publishes
// the markdown as an SNS digest. The bucket is versioned, so an earlier run of the same day stays as a prior version.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { RunReportSink } from '../app/run-janitor.js';
import { type ReportContext, runReportDocuments } from './run-report-document.js';

/** SNS message limit: 256 KiB (Amazon SNS Developer Guide, "Amazon SNS message size"). */
const SNS_MAX_BYTES = 256 * 1024;

export interface ReportSinkOptions extends ReportContext {
  bucket: string;
  /** Digest topic (REPORT_TOPIC_ARN): the markdown report, for e-mail or chat subscribers. */
  topic?: { client: Pick<SNSClient, 'send'>; arn: string };
}

export function createS3ReportSink(s3: Pick<S3Client, 'send'>, options: ReportSinkOptions): RunReportSink {
  return {
    async publish(report) {
      const documents = runReportDocuments(report, options);
      const keys = [`${documents.key}.md`, `${documents.key}.json`];
      await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: keys[0], Body: documents.markdown, ContentType: 'text/markdown; charset=utf-8' }));
      await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: keys[1], Body: documents.json, ContentType: 'application/json' }));
      if (options.topic) {
        const link = `\n\nFull report: s3://${options.bucket}/${keys[0]}\n`;
        let message = documents.markdown;
        if (Buffer.byteLength(message + link) > SNS_MAX_BYTES) message = `${message.slice(0, SNS_MAX_BYTES - 2048)}\n…(cut: the report is longer than SNS allows)`;
        await options.topic.client.send(new PublishCommand({ TopicArn: options.topic.arn, Subject: documents.subject, Message: message + link }));
      }
      return { keys };
    },
  };
}
