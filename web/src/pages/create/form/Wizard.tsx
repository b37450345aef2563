// Wizard walks a person through a generated form's steps, then a review
// of the answers, then submits: the Create wizard and the workflow run
// page both use it.
import { useState, type ReactNode } from 'react';
import { InlineError } from '../../../components/States';
import type { FormContext } from './fields';
import { SchemaForm } from './SchemaForm';
import { reviewRows, type FormStep } from './schema';

export interface WizardLabels {
  back?: string;
  next?: string;
  review?: string;
  submit?: string;
}

export interface WizardProps {
  steps: FormStep[];
  /** The data: one object; a step with a key fills data[key]. */
  data: Record<string, unknown>;
  onDataChange: (data: Record<string, unknown>) => void;
  /** onSubmit runs on the review step's button; a thrown error is shown. */
  onSubmit: (data: Record<string, unknown>) => Promise<void>;
  labels?: WizardLabels;
  context?: FormContext;
  /** Shown on the review step above the answers. */
  reviewNote?: ReactNode;
}

function stepData(step: FormStep, data: Record<string, unknown>): unknown {
  return step.key ? (data[step.key] ?? {}) : data;
}

/** Wizard is a multi-step form with a review step. */
export function Wizard({ steps, data, onDataChange, onSubmit, labels = {}, context, reviewNote }: WizardProps) {
  const [index, setIndex] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const reviewing = index >= steps.length;
  const set = (step: FormStep, value: unknown) => {
    if (step.key) onDataChange({ ...data, [step.key]: value });
    else onDataChange({ ...(data ?? {}), ...(value as Record<string, unknown>) });
  };
  const titles = [...steps.map((s) => s.title), 'Review'];

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await onSubmit(data);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="wizard">
      <ol className="stepper" aria-label="Steps">
        {titles.map((t, i) => (
          <li key={i} className={i === index ? 'current' : i < index ? 'done' : ''} aria-current={i === index ? 'step' : undefined}>
            <span className="step-number">{i + 1}</span> {t}
          </li>
        ))}
      </ol>
      {!reviewing ? (
        <section className="wizard-step" aria-labelledby="wizard-step-title">
          <h2 id="wizard-step-title">{steps[index].title}</h2>
          {steps[index].description && <p className="muted">{steps[index].description}</p>}
          <SchemaForm
            key={index}
            idPrefix={`step${index}`}
            schema={steps[index].schema}
            uiSchema={steps[index].uiSchema}
            formData={stepData(steps[index], data)}
            context={context}
            onChange={(v) => set(steps[index], v)}
            onSubmit={(v) => {
              set(steps[index], v);
              setIndex(index + 1);
            }}
          >
            <div className="wizard-buttons">
              <button type="button" className="btn" disabled={index === 0} onClick={() => setIndex(index - 1)}>
                {labels.back ?? 'Back'}
              </button>
              <button type="submit" className="btn btn-primary">
                {index === steps.length - 1 ? (labels.review ?? 'Review') : (labels.next ?? 'Next')}
              </button>
            </div>
          </SchemaForm>
        </section>
      ) : (
        <section className="wizard-step" aria-labelledby="wizard-step-title">
          <h2 id="wizard-step-title">Review</h2>
          {reviewNote}
          {steps.map((s, i) => {
            const rows = reviewRows(s.schema, s.uiSchema, stepData(s, data));
            return (
              <div key={i} className="review-group">
                {steps.length > 1 && <h3>{s.title}</h3>}
                {rows.length === 0 ? (
                  <p className="muted">Nothing entered.</p>
                ) : (
                  <dl className="review">
                    {rows.map((r, j) => (
                      <div key={j}>
                        <dt>{r.label}</dt>
                        <dd>{r.value}</dd>
                      </div>
                    ))}
                  </dl>
                )}
              </div>
            );
          })}
          <InlineError error={error} />
          <div className="wizard-buttons">
            <button type="button" className="btn" disabled={busy || steps.length === 0} onClick={() => setIndex(steps.length - 1)}>
              {labels.back ?? 'Back'}
            </button>
            <button type="button" className="btn btn-primary" disabled={busy} onClick={submit}>
              {busy ? 'Working…' : (labels.submit ?? 'Create')}
            </button>
          </div>
        </section>
      )}
    </div>
  );
}
