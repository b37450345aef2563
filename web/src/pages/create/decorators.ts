// Form decorators run in the browser before a task is created, as
// Backstage's createScaffolderFormDecorator model has them: each has an id,
// a JSON Schema for the input the template gives it, and a function with
// access to the form state and the secrets. A template lists the ones it
// wants in spec.formDecorators (or EXPERIMENTAL_formDecorators).
import validator from '@rjsf/validator-ajv8';
import type { RJSFSchema } from '@rjsf/utils';
import type { Identity } from '../../api/auth';
import type { ApiClient } from '../../api/client';
import type { DecoratorUse } from './api';

/** DecoratorContext is what a decorator works with. */
export interface DecoratorContext<I = Record<string, unknown>> {
  input: I;
  formState: Record<string, unknown>;
  setFormState: (update: (state: Record<string, unknown>) => Record<string, unknown>) => void;
  setSecrets: (update: (secrets: Record<string, string>) => Record<string, string>) => void;
  /** Dependencies a decorator may use. */
  identity: Identity;
  api: ApiClient;
}

/** FormDecorator is one client-side decorator. */
export interface FormDecorator {
  id: string;
  description: string;
  /** The JSON Schema of the input a template passes. */
  inputSchema: Record<string, unknown>;
  decorate: (ctx: DecoratorContext) => Promise<void> | void;
}

/** createFormDecorator declares a decorator (the shape Backstage's helper takes). */
export function createFormDecorator<I extends Record<string, unknown>>(d: {
  id: string;
  description: string;
  inputSchema: Record<string, unknown>;
  decorate: (ctx: DecoratorContext<I>) => Promise<void> | void;
}): FormDecorator {
  return d as unknown as FormDecorator;
}

/**
 * initiatorDecorator records who asked for the new software: it puts the
 * signed-in person's entity ref into a form field (the owner, or a
 * "requested by" value a skeleton writes into catalog-info.yaml) unless
 * the person filled it in, and can hand the person's Portico token to the
 * task as a secret, for steps that call Portico as that person.
 */
export const initiatorDecorator = createFormDecorator<{ field?: string; overwrite?: boolean; tokenSecret?: string }>({
  id: 'portico:initiator',
  description: "Fills a form field with the signed-in person's entity ref and, optionally, hands their token to the task as a secret.",
  inputSchema: {
    type: 'object',
    properties: {
      field: { type: 'string', minLength: 1, description: 'The form field to fill (default requestedBy)' },
      overwrite: { type: 'boolean', description: 'Replace a value the person entered' },
      tokenSecret: { type: 'string', minLength: 1, description: "The secret to put the person's token in" },
    },
    additionalProperties: false,
  },
  decorate: ({ input, setFormState, setSecrets, identity, api }) => {
    const field = input.field ?? 'requestedBy';
    setFormState((s) => (s[field] && !input.overwrite ? s : { ...s, [field]: identity.userEntityRef }));
    const token = api.token();
    if (input.tokenSecret && token) setSecrets((s) => ({ ...s, [input.tokenSecret!]: token }));
  },
});

/** defaultDecorators are the decorators the app knows. */
export const defaultDecorators: FormDecorator[] = [initiatorDecorator];

/** DecoratorRun is what running a template's decorators gave. */
export interface DecoratorRun {
  values: Record<string, unknown>;
  secrets: Record<string, string>;
  /** The decorators that ran, by id. */
  ran: string[];
  /** Decorators not known in the browser: the server runs them, or refuses the task if it does not know them either. */
  unknown: string[];
}

/**
 * runDecorators runs the template's decorators in order on the values and
 * secrets. Input that breaks a decorator's schema is an error naming the
 * decorator and the field, as is a decorator that throws.
 */
export async function runDecorators(
  uses: DecoratorUse[],
  registry: FormDecorator[],
  start: { values: Record<string, unknown>; secrets: Record<string, string> },
  deps: { identity: Identity; api: ApiClient },
): Promise<DecoratorRun> {
  let values = { ...start.values };
  let secrets = { ...start.secrets };
  const ran: string[] = [];
  const unknown: string[] = [];
  for (const [i, use] of uses.entries()) {
    const d = registry.find((x) => x.id === use.id);
    if (!d) {
      unknown.push(use.id);
      continue;
    }
    const input = use.input ?? {};
    const check = validator.rawValidation(d.inputSchema as RJSFSchema, input);
    const errors = (check.errors ?? []) as { instancePath?: string; message?: string }[];
    if (errors.length) {
      const e = errors[0];
      throw new Error(`formDecorators[${i}] (${use.id}): input${e.instancePath ?? ''} ${e.message ?? 'is invalid'}`);
    }
    try {
      await d.decorate({
        input,
        formState: values,
        setFormState: (f) => {
          values = f(values);
        },
        setSecrets: (f) => {
          secrets = f(secrets);
        },
        ...deps,
      });
    } catch (e) {
      throw new Error(`form decorator ${use.id} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    ran.push(use.id);
  }
  return { values, secrets, ran, unknown };
}
