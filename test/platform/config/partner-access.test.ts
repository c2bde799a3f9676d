import { describe, expect, it } from 'vitest';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { formatProblem } from '../../../platform/config/problems.js';
import { makeConfigRoot, validFiles, VALID_PARTNER, VALID_SCHEMA } from '../../support/config-root.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ4m2YwZ4h2lV0K7dFf1pQx3X9yqS8d1Zk3n6fO2a9bC acme-uploader';

/** The valid partner with an `access` section after its owner line. */
function withAccess(access: string, partner = VALID_PARTNER): string {
  return partner.replace('owner: data@example.com\n', `owner: data@example.com\naccess:\n${access}`);
}

function problemsOf(files: Record<string, string>): string[] {
  return loadPlatformConfig(makeConfigRoot(files)).problems.map(formatProblem);
}

describe('access in the partner file', () => {
  it('carries account ids, role ARNs and SSH keys into the config', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'partners/acme.yaml': withAccess(
        `  iamPrincipals: ["111111111111", "arn:aws:iam::222222222222:role/uploader"]\n  sftp:\n    publicKeys: ["${KEY}"]\n`,
      ),
    });
    const { config, problems } = loadPlatformConfig(root);
    expect(problems).toEqual([]);
    expect(config.partners[0]!.access).toEqual({
      iamPrincipals: ['111111111111', 'arn:aws:iam::222222222222:role/uploader'],
      sftp: { publicKeys: [KEY] },
    });
  });

  it('refuses a wildcard, a user ARN and a malformed SSH key, each at its line and column', () => {
    const problems = problemsOf({
      ...validFiles(),
      'partners/acme.yaml': withAccess(
        `  iamPrincipals: ["*", "arn:aws:iam::222222222222:user/bob"]\n  sftp:\n    publicKeys: ["ssh-dss AAAA"]\n`,
      ),
    });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^partners\/acme\.yaml:5:19: .*must match pattern.*\("\*"\)$/);
    expect(problems[1]).toMatch(/^partners\/acme\.yaml:5:24: .*must match pattern.*\("arn:aws:iam::222222222222:user\/bob"\)$/);
    expect(problems[2]).toMatch(/^partners\/acme\.yaml:7:18: .*must match pattern.*\("ssh-dss AAAA"\)$/);
  });

  it('refuses SFTP for a partner id shorter than a Transfer Family user name may be', () => {
    const ab = withAccess(`  sftp:\n    publicKeys: ["${KEY}"]\n`, VALID_PARTNER.replace(/acme/g, 'ab'));
    expect(problemsOf({ 'partners/ab.yaml': ab, 'mappings/ab/orders.schema.json': VALID_SCHEMA })).toEqual([
      'partners/ab.yaml:5:3: an SFTP user is named after its partner and needs an id of at least 3 characters ("ab")',
    ]);
  });
});
