import { configDefaults, defineConfig } from 'vitest/config';
import { findMotoServer, MOTO_INSTALL_HINT } from './platform/rehearsal/moto-server.js';

// The deployment rehearsal needs moto_server. Without it the rehearsal's tests are left out and one
// line says so (never a silent pass); CI sets PARTNER_ETL_REQUIRE_REHEARSAL, where a missing moto fails.
const REHEARSAL_TESTS = 'test/platform/rehearsal/rehearsal.test.ts';
const moto = findMotoServer();
if (!moto) {
  const line = `rehearsal NOT RUN: moto_server is not on PATH; install it with ${MOTO_INSTALL_HINT}`;
  if (process.env.PARTNER_ETL_REQUIRE_REHEARSAL) throw new Error(`${line} (PARTNER_ETL_REQUIRE_REHEARSAL is set)`);
  console.warn(line);
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: moto ? configDefaults.exclude : [...configDefaults.exclude, REHEARSAL_TESTS],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // the lockfile pins the AWS SDK; its "Node 22 from 2027" notice is noise in test output
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
