import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EVENTS } from '../metrics-names.js';
import type { EventPublisher } from './object-store.js';

/** Downstream events on the platform's own bus. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(detailType: string, detail: Record<string, unknown>): Promise<void> {
    const result = await this.client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.busName, Source: EVENTS.source, DetailType: detailType, Detail: JSON.stringify(detail) }],
      }),
    );
    if (result.FailedEntryCount) {
      throw new Error(
        `EventBridge refused the ${detailType} event: ${result.Entries?.[0]?.ErrorCode} ${result.Entries?.[0]?.ErrorMessage}`,
      );
    }
  }
}
