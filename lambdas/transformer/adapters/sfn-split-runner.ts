import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SplitRunInput, SplitRunner } from '../split/split-runner.js';

/** Split runs on Step Functions: one execution per handed-over attempt, named by version and attempt. */
export class StepFunctionsSplitRunner implements SplitRunner {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: SplitRunInput): Promise<void> {
    try {
      await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
    } catch (err) {
      // The same name with the same input while it runs succeeds anyway; a closed one, or another input, answers this:
      // either way the run was started before, and its end records the final status.
      if (err instanceof ExecutionAlreadyExists) return;
      throw err;
    }
  }
}
