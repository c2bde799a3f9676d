// Lint rules, including the layering rule of PRODUCT.md: `platform/` may import `lambdas/`, never the
// reverse, and the engine imports nothing of AWS.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// no-restricted-imports sees import and export declarations; an import() expression is checked here.
const dynamicImports = {
  lambdas: [
    {
      selector: 'ImportExpression[source.value=/(^|\\/)platform\\//]',
      message: 'lambdas/ must not import platform/ (imports point one way).',
    },
  ],
  engine: [
    {
      selector: 'ImportExpression[source.value=/^(@aws-sdk\\/|aws-cdk-lib|@aws-lambda-powertools\\/)/]',
      message: 'The engine imports nothing of AWS.',
    },
    {
      selector: 'ImportExpression[source.value=/^\\.\\.\\/(adapters|ledger)\\/|^\\.\\.\\/(handler|create-handler|process-object)/]',
      message: 'The engine stands alone: no adapters, ledger or handler.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.build/', 'coverage/', 'bench/.cache/', 'test/conformance/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    files: ['lambdas/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/platform/**', '../../platform/*'], message: 'lambdas/ must not import platform/ (imports point one way).' },
          ],
        },
      ],
      'no-restricted-syntax': ['error', ...dynamicImports.lambdas],
    },
  },
  {
    files: ['lambdas/transformer/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', '@aws-lambda-powertools/*'],
              message: 'The engine imports nothing of AWS.',
            },
            { group: ['**/platform/**'], message: 'lambdas/ must not import platform/ (imports point one way).' },
            {
              group: ['../adapters/*', '../ledger/*', '../handler*', '../create-handler*', '../process-object*'],
              message: 'The engine stands alone: no adapters, ledger or handler.',
            },
          ],
        },
      ],
      'no-restricted-syntax': ['error', ...dynamicImports.lambdas, ...dynamicImports.engine],
    },
  },
);
