// SchemaForm renders one step of a generated form with @rjsf/core: the
// JSON Schema's fields, the `ui:*` options, Backstage's field extensions,
// and validation messages that name the field.
import { useMemo, type ReactNode } from 'react';
import Form from '@rjsf/core';
import type { CustomValidator, ErrorTransformer, FormValidation, RJSFSchema, RegistryFieldsType, UiSchema } from '@rjsf/utils';
import validator from '@rjsf/validator-ajv8';
import { backstageFields, entityNameProblem, type FormContext } from './fields';
import type { JsonSchema } from './schema';
import './form.css';

export interface SchemaFormProps {
  schema: JsonSchema;
  uiSchema?: Record<string, unknown>;
  formData: unknown;
  onChange: (data: unknown) => void;
  /** onSubmit gets the data once it validates. */
  onSubmit: (data: unknown) => void;
  context?: FormContext;
  /** The step's buttons; the submit button moves on. */
  children: ReactNode;
  fields?: RegistryFieldsType;
  /** idPrefix keeps ids unique when two forms share a page. */
  idPrefix?: string;
}

/** titleOf finds a property's title for an error message. */
function titleOf(schema: JsonSchema, path: string): string {
  let node: unknown = schema;
  let title = '';
  for (const part of path.split('.').filter(Boolean)) {
    if (node && typeof node === 'object') {
      const n = node as Record<string, unknown>;
      const props = n.properties as Record<string, unknown> | undefined;
      node = props?.[part] ?? (/^\d+$/.test(part) ? n.items : undefined);
      const t = node && typeof node === 'object' ? ((node as Record<string, unknown>).title as string | undefined) : undefined;
      title = t ?? part;
    }
  }
  return title;
}

/**
 * transformErrors rewrites Ajv's messages ("must have required property
 * 'name'") into ones that name the field as the form shows it.
 */
export function makeTransformErrors(schema: JsonSchema): ErrorTransformer {
  return (errors) =>
    errors.map((e) => {
      const params = (e.params ?? {}) as Record<string, unknown>;
      switch (e.name) {
        case 'required': {
          const missing = String(params.missingProperty ?? '');
          const base = (e.property ?? '').replace(/^\./, '').split('.').slice(0, -1).join('.');
          const label = titleOf(schema, [base, missing].filter(Boolean).join('.')) || missing;
          return { ...e, message: `${label} is required`, stack: `${label} is required` };
        }
        case 'enum':
          return { ...e, message: `must be one of: ${((params.allowedValues as unknown[]) ?? []).join(', ')}` };
        case 'minLength':
          return { ...e, message: `must be at least ${params.limit} characters long` };
        case 'maxLength':
          return { ...e, message: `must be at most ${params.limit} characters long` };
        case 'pattern':
          return { ...e, message: `must match the pattern ${params.pattern}` };
        case 'minItems':
          return { ...e, message: `needs at least ${params.limit} item(s)` };
        case 'format':
          return { ...e, message: `must be a valid ${params.format}` };
        default:
          return e;
      }
    });
}

/** entityNameValidation checks EntityNamePicker fields as Backstage does. */
function makeCustomValidate(uiSchema: Record<string, unknown>): CustomValidator {
  return (formData, errors: FormValidation) => {
    const walk = (ui: Record<string, unknown>, data: unknown, errs: FormValidation) => {
      if (!data || typeof data !== 'object') return;
      for (const [key, sub] of Object.entries(ui)) {
        if (!sub || typeof sub !== 'object' || key.startsWith('ui:')) continue;
        const value = (data as Record<string, unknown>)[key];
        const subUi = sub as Record<string, unknown>;
        const subErrs = (errs as Record<string, unknown>)[key] as FormValidation | undefined;
        if (!subErrs) continue;
        if (subUi['ui:field'] === 'EntityNamePicker' && typeof value === 'string' && value) {
          const problem = entityNameProblem(value);
          if (problem) subErrs.addError?.(problem);
        }
        walk(subUi, value, subErrs);
      }
    };
    walk(uiSchema, formData, errors);
    return errors;
  };
}

/** SchemaForm is one generated form step. */
export function SchemaForm({ schema, uiSchema = {}, formData, onChange, onSubmit, context, children, fields, idPrefix }: SchemaFormProps) {
  const transformErrors = useMemo(() => makeTransformErrors(schema), [schema]);
  const customValidate = useMemo(() => makeCustomValidate(uiSchema), [uiSchema]);
  const allFields = useMemo(() => ({ ...backstageFields, ...fields }), [fields]);
  const ui = useMemo(() => ({ ...uiSchema, 'ui:submitButtonOptions': { norender: true } }) as UiSchema, [uiSchema]);
  return (
    <Form
      className="schema-form"
      schema={schema as RJSFSchema}
      uiSchema={ui}
      formData={formData}
      validator={validator}
      fields={allFields}
      formContext={context}
      idPrefix={idPrefix}
      noHtml5Validate
      showErrorList={false}
      transformErrors={transformErrors}
      customValidate={customValidate}
      onChange={(e) => onChange(e.formData)}
      onSubmit={(e) => onSubmit(e.formData)}
      // The errors show beside their fields; without a handler rjsf would
      // also log them to the console.
      onError={() => {}}
    >
      {children}
    </Form>
  );
}
