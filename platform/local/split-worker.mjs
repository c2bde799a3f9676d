// A worker thread of the local split pool: registers tsx (as the CLI does), then runs split-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./split-worker.ts');
