// A template's wizard: each parameter step rendered from its JSON Schema,
// a review, the template's form decorators, then POST /v2/tasks and on to
// the task's page.
import { useMemo, useRef, useState } from 'react';
import { useApi, useIdentity } from '../../api/auth';
import { Card, Page } from '../../components/Page';
import { ErrorPanel, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { Link, useLocation, useNavigate } from '../../router';
import { createTask, getParameterSchema, listServerDecorators, taskPath } from './api';
import { defaultDecorators, runDecorators } from './decorators';
import type { FormContext } from './form/fields';
import { templateSteps } from './form/schema';
import { Wizard } from './form/Wizard';

/** initialData reads ?formData= (JSON); anything else starts empty. */
export function initialData(param: string | null): Record<string, unknown> {
  if (!param) return {};
  try {
    const v = JSON.parse(param) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function TemplateWizardPage({ namespace, name }: { namespace: string; name: string }) {
  const api = useApi();
  const identity = useIdentity();
  const navigate = useNavigate();
  // The parameter schema keeps the template's own property order, which is
  // the order the form asks in (as in Backstage's and RHDH's forms).
  const schema = useAsync((signal) => getParameterSchema(api, namespace, name, signal), [api, namespace, name]);
  const steps = useMemo(() => templateSteps(schema.value?.steps ?? []), [schema.value]);
  // Start over (from a task's page) passes the earlier answers as ?formData=.
  const { query } = useLocation();
  const [data, setData] = useState<Record<string, unknown>>(() => initialData(query.get('formData')));
  const secrets = useRef<Record<string, string>>({});
  const context = useMemo<FormContext>(
    () => ({
      api,
      userRef: identity.userEntityRef,
      secrets: secrets.current,
      setSecret: (k, v) => {
        secrets.current = { ...secrets.current, [k]: v };
      },
    }),
    [api, identity.userEntityRef],
  );
  const uses = schema.value?.formDecorators ?? schema.value?.EXPERIMENTAL_formDecorators ?? [];
  // Decorators run in the browser (the registry in decorators.ts) and on
  // the server (GET /v2/form-decorators); one neither knows fails the task.
  const server = useAsync((signal) => listServerDecorators(api, signal).catch(() => undefined), [api]);
  const unknown = server.value
    ? uses.map((u) => u.id).filter((id) => !defaultDecorators.some((d) => d.id === id) && !server.value!.decorators.some((d) => d.id === id))
    : [];
  const labels = schema.value?.presentation?.buttonLabels;

  const submit = async (values: Record<string, unknown>) => {
    const decorated = await runDecorators(uses, defaultDecorators, { values, secrets: secrets.current }, { identity, api });
    const res = await createTask(api, {
      templateRef: `template:${namespace}/${name}`,
      values: decorated.values,
      secrets: Object.keys(decorated.secrets).length ? decorated.secrets : undefined,
    });
    navigate(taskPath(res.id));
  };

  const title = schema.value?.title ?? name;
  return (
    <Page
      title={title}
      subtitle={schema.value?.description}
      actions={
        <Link className="btn" to="/create">
          All templates
        </Link>
      }
    >
      {schema.error ? (
        <ErrorPanel title="This template could not be read" error={schema.error} onRetry={schema.reload} />
      ) : !schema.value ? (
        <Loading />
      ) : (
        <Card>
          <Wizard
            steps={steps}
            data={data}
            onDataChange={setData}
            onSubmit={submit}
            context={context}
            labels={{ back: labels?.backButtonText, review: labels?.reviewButtonText, submit: labels?.createButtonText ?? 'Create' }}
            reviewNote={
              uses.length > 0 ? (
                <>
                  <p className="notice" role="note">
                    On Create, these form decorators run first: {uses.map((u) => u.id).join(', ')}.
                  </p>
                  {unknown.length > 0 && (
                    <p className="inline-error" role="alert">
                      This template uses form decorators that Portico does not know: {unknown.join(', ')}. Creating will fail until they are
                      registered.
                    </p>
                  )}
                </>
              ) : undefined
            }
          />
        </Card>
      )}
    </Page>
  );
}
