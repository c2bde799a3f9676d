import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ajvRegExp } from './linear-regex.js';

/**
 * The one Ajv set-up for output schemas: draft 2020-12, formats on, strict about the schema itself
 * (an unknown keyword or format is an error, since it is almost always a typo that would silently
 * validate nothing) but not about legal patterns such as `required` without `properties`. Every
 * `pattern` runs on the linear-time regex engine, so no partner data can hold a row in a regex. The
 * config loader compiles every schema with it, so a schema that validates is a schema the engine can run.
 * `regExp` replaces the engine only to collect every pattern it refuses at once (config validation).
 * The engine compiles only schemas the loader has checked, so it skips the meta-schema check
 * (`validateSchema: false`): that check compiles the 2020-12 meta-schema in every Ajv instance,
 * about 50 ms a feed of the Lambda's cold start.
 */
export function createSchemaAjv(regExp: typeof ajvRegExp = ajvRegExp, options: { readonly validateSchema?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    validateSchema: options.validateSchema ?? true,
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allErrors: false,
    // errors carry the value received: quoted in the rejects object, never elsewhere
    verbose: true,
    validateFormats: true,
    code: { regExp },
  });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  // The output contract's semver (checked by the config loader and `validate --base`): an annotation.
  ajv.addKeyword({ keyword: 'x-version', schemaType: 'string' });
  return ajv;
}

let metaSchemaChecker: Ajv2020 | undefined;

/**
 * Checks an output schema exactly as `createSchemaAjv(regExp).compile` would (against the 2020-12
 * meta-schema, then a strict compile), throwing Ajv's error, but compiles the meta-schema once per
 * process instead of once per schema: most of a config load's time before.
 */
export function checkSchema(schema: Record<string, unknown>, regExp: typeof ajvRegExp = ajvRegExp): void {
  metaSchemaChecker ??= createSchemaAjv();
  metaSchemaChecker.validateSchema(schema, true);
  createSchemaAjv(regExp, { validateSchema: false }).compile(schema);
}

/**
 * The first schema violation of a record: a JSON pointer to the field and a message naming it,
 * which quotes no value of the record; `detail` adds the value received, for the rejects object only.
 */
export interface SchemaViolation {
  readonly field: string;
  readonly message: string;
  readonly detail?: string;
}

/** Longest rendering of a received value in a rejects message. */
const MAX_SHOWN_VALUE_CHARS = 200;

export type RecordValidator = (record: unknown) => SchemaViolation | undefined;

/** Compiles a feed's output schema once; the validator returns the first violation or nothing. */
export function compileValidator(schema: Record<string, unknown>, ajv: Ajv2020 = createSchemaAjv()): RecordValidator {
  const validate: ValidateFunction = ajv.compile(schema);
  return (record) => {
    if (validate(record)) return undefined;
    const error = validate.errors![0]!;
    const violation = describeViolation(error);
    if (error.keyword === 'required' || error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
      return violation;
    }
    return { ...violation, detail: `${violation.message}, got ${showValue(error.data)}` };
  };
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN_VALUE_CHARS ? `${text.slice(0, MAX_SHOWN_VALUE_CHARS)}...` : text;
}

function describeViolation(error: ErrorObject): SchemaViolation {
  const at = error.instancePath;
  if (error.keyword === 'required') {
    const field = `${at}/${escapePointer((error.params as { missingProperty: string }).missingProperty)}`;
    return { field, message: `${field} is required` };
  }
  if (error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
    const p = error.params as { additionalProperty?: string; unevaluatedProperty?: string };
    const field = `${at}/${escapePointer(p.additionalProperty ?? p.unevaluatedProperty ?? '')}`;
    return { field, message: `${field} is not allowed by the schema` };
  }
  const field = at || '/';
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v));
    return { field, message: `${field} must be one of ${allowed.join(', ')}` };
  }
  if (error.keyword === 'const') {
    return { field, message: `${field} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}` };
  }
  return { field, message: `${field} ${error.message ?? `fails ${error.keyword}`}` };
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
