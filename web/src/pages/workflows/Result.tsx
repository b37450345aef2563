// An instance's result under the WorkflowResult convention: the message,
// the outputs by format, and the workflows an assessment recommends.
import { Markdown } from 'markdown-to-jsx/react';
import { Chip } from '../../components/Page';
import { Link } from '../../router';
import { runPath, type ResultOutput, type WorkflowResult } from './api';

function safeUrl(v: string): string | undefined {
  try {
    const u = new URL(v, window.location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** OutputValue renders one output by its format: text, number, link or markdown. */
export function OutputValue({ output }: { output: ResultOutput }) {
  const v = output.value;
  const text = typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  switch ((output.format ?? 'text').toLowerCase()) {
    case 'number': {
      const n = typeof v === 'number' ? v : Number(text);
      return <span className="output-number">{Number.isFinite(n) ? n.toLocaleString() : text}</span>;
    }
    case 'link': {
      const href = safeUrl(text);
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer">
          {text}
        </a>
      ) : (
        <span>{text}</span>
      );
    }
    case 'markdown':
      return (
        <div className="output-markdown">
          <Markdown options={{ disableParsingRawHTML: true }}>{text}</Markdown>
        </div>
      );
    default:
      return <span className="output-text">{text}</span>;
  }
}

/** ResultView shows a finished instance's result. */
export function ResultView({ result, instanceId }: { result: WorkflowResult; instanceId: string }) {
  const next = result.nextWorkflows ?? [];
  return (
    <div className="result">
      {result.completedWith && (
        <p>
          <Chip tone={result.completedWith === 'success' ? 'success' : 'danger'}>{result.completedWith}</Chip>
        </p>
      )}
      {result.message && <p className="result-message">{result.message}</p>}
      {result.outputs && result.outputs.length > 0 && (
        <dl className="review outputs">
          {result.outputs.map((o, i) => (
            <div key={i}>
              <dt>{o.key}</dt>
              <dd>
                <OutputValue output={o} />
              </dd>
            </div>
          ))}
        </dl>
      )}
      {next.length > 0 && (
        <div className="next-workflows">
          <h3>Recommended next</h3>
          <div className="row">
            {next.map((n) =>
              n.available ? (
                <Link key={n.id} className="btn btn-primary" to={runPath(n.id, { assessmentInstanceId: instanceId })} data-next-workflow={n.id}>
                  {n.name || n.id}
                </Link>
              ) : (
                <button key={n.id} type="button" className="btn" disabled title="This workflow is not available now">
                  {n.name || n.id}
                </button>
              ),
            )}
          </div>
        </div>
      )}
      {result.unknownWorkflowIds && result.unknownWorkflowIds.length > 0 && (
        <p className="muted">Also recommended, but not deployed here: {result.unknownWorkflowIds.join(', ')}</p>
      )}
      {result.problems && result.problems.length > 0 && (
        <details>
          <summary>The result does not follow the result schema ({result.problems.length})</summary>
          <ul>
            {result.problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
