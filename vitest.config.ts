import { configDefaults, defineConfig } from 'vitest/config';
import { findMotoServer, MOTO_INSTALL_HINT } from './platform/rehearsal/moto-server.js';

// The deployment rehearsal needs moto_server. Without it the rehearsal is left out and one line says
// so (never a silent pass); CI sets PARTNER_ETL_REQUIRE_REHEARSAL, where a missing moto fails.
const REHEARSAL = 'test/platform/rehearsal/rehearsal.test.ts';
const moto = findMotoServer();
if (!moto) {
  const line = `rehearsal NOT RUN: moto_server is not on PATH; install it with ${MOTO_INSTALL_HINT}`;
  if (process.env.PARTNER_ETL_REQUIRE_REHEARSAL) throw new Error(`${line} (PARTNER_ETL_REQUIRE_REHEARSAL is set)`);
  console.warn(line);
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // the lockfile pins the AWS SDK; its "Node 22 from 2027" notice is noise in test output
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'tests', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, REHEARSAL] } },
      // After every other test, alone: it runs moto, a synthesis and the bundle, and would load the
      // machine under the timing-sensitive tests (and they it).
      ...(moto ? [{ extends: true as const, test: { name: 'rehearsal', include: [REHEARSAL], sequence: { groupOrder: 1 } } }] : []),
    ],
  },
});
