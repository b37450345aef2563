// The run page of a workflow: a form generated from its input schema
// (nested objects as steps, as RHDH does), pre-filled from an earlier run
// (?instanceId=) or from the assessment that recommended it
// (?assessmentInstanceId=, which also links the new run to it).
import { useEffect, useMemo, useState } from 'react';
import { useApi } from '../../api/auth';
import { instancePath } from '../../api/orchestrator';
import { Card, Page } from '../../components/Page';
import { ErrorPanel, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { Link, useLocation, useNavigate } from '../../router';
import { Wizard } from '../create/form/Wizard';
import { workflowSteps } from '../create/form/schema';
import { execute, getInputSchema, getOverview, workflowPath } from './api';

export function RunPage({ workflowId }: { workflowId: string }) {
  const api = useApi();
  const navigate = useNavigate();
  const { query } = useLocation();
  const instanceId = query.get('instanceId') ?? undefined;
  const assessmentId = query.get('assessmentInstanceId') ?? undefined;
  // A run started from an entity's page is about that entity.
  const targetEntity = query.get('targetEntity') ?? undefined;
  const overview = useAsync((signal) => getOverview(api, workflowId, signal), [api, workflowId]);
  const input = useAsync((signal) => getInputSchema(api, workflowId, instanceId ?? assessmentId, signal), [api, workflowId, instanceId, assessmentId]);
  const steps = useMemo(() => workflowSteps(input.value?.inputSchema, 'Input'), [input.value]);
  // The form shows once its starting data is known, so that a re-run or a
  // recommended run never shows the defaults first.
  const [data, setData] = useState<Record<string, unknown> | null>(null);
  useEffect(() => {
    if (input.value) setData(input.value.data ?? {});
  }, [input.value]);

  const name = overview.value?.name || workflowId;
  const run = async (values: Record<string, unknown>) => {
    const res = await execute(api, workflowId, { inputData: values, businessKey: assessmentId, targetEntity });
    navigate(instancePath(res.id));
  };

  return (
    <Page
      title={`Run ${name}`}
      subtitle={overview.value?.description}
      actions={
        <Link className="btn" to={workflowPath(workflowId)}>
          Workflow details
        </Link>
      }
    >
      {(instanceId || assessmentId) && (
        <p className="notice" role="note">
          {assessmentId ? (
            <>
              Recommended by the assessment <Link to={instancePath(assessmentId)}>{assessmentId}</Link>; the form starts from its data.
            </>
          ) : (
            <>
              Running again with the input of <Link to={instancePath(instanceId!)}>{instanceId}</Link>.
            </>
          )}
        </p>
      )}
      {overview.error ? (
        <ErrorPanel title="This workflow could not be read" error={overview.error} onRetry={overview.reload} />
      ) : input.error ? (
        <ErrorPanel title="The workflow's input schema could not be read" error={input.error} onRetry={input.reload} />
      ) : !input.value || !overview.value || !data ? (
        <Loading />
      ) : (
        <Card>
          {steps.length === 0 ? (
            <NoInput onRun={() => run({})} />
          ) : (
            <Wizard
              steps={steps}
              data={data}
              onDataChange={setData}
              onSubmit={run}
              labels={{ next: 'Next step', review: 'Next step', submit: 'Run' }}
            />
          )}
        </Card>
      )}
    </Page>
  );
}

function NoInput({ onRun }: { onRun: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <div>
      <p>This workflow takes no input.</p>
      {error ? <ErrorPanel title="The workflow could not be started" error={error} /> : null}
      <button
        type="button"
        className="btn btn-primary"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await onRun();
          } catch (e) {
            setError(e);
            setBusy(false);
          }
        }}
      >
        Run
      </button>
    </div>
  );
}
