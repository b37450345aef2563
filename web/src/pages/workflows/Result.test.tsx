import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { Router } from '../../router';
import { ResultView } from './Result';

describe('ResultView', () => {
  it('renders outputs by format and the recommended workflows as buttons', () => {
    render(
      <Router>
        <ResultView
          instanceId="a1"
          result={{
            completedWith: 'success',
            message: 'All done',
            outputs: [
              { key: 'Text', value: 'plain', format: 'text' },
              { key: 'Count', value: 1234567, format: 'number' },
              { key: 'Docs', value: 'https://example.com/docs', format: 'link' },
              { key: 'Unsafe', value: 'javascript:alert(1)', format: 'link' },
              { key: 'Notes', value: '**bold** and <b>raw</b>', format: 'markdown' },
            ],
            nextWorkflows: [
              { id: 'greeting', name: 'Greet next', source: 'nextWorkflows', available: true },
              { id: 'gone', name: 'Not here', source: 'nextWorkflows', available: false },
            ],
            unknownWorkflowIds: ['missing'],
          }}
        />
      </Router>,
    );
    expect(screen.getByText('All done')).toBeTruthy();
    expect(screen.getByText('plain')).toBeTruthy();
    expect(screen.getByText((1234567).toLocaleString())).toBeTruthy();
    expect(screen.getByRole('link', { name: 'https://example.com/docs' }).getAttribute('href')).toBe('https://example.com/docs');
    expect(screen.queryByRole('link', { name: 'javascript:alert(1)' })).toBeNull();
    expect(screen.getByText('bold').tagName).toBe('STRONG');
    expect(document.querySelector('.output-markdown b')).toBeNull();
    expect(screen.getByRole('link', { name: 'Greet next' }).getAttribute('href')).toBe('/workflows/greeting/run?assessmentInstanceId=a1');
    expect((screen.getByRole('button', { name: 'Not here' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/not deployed here: missing/)).toBeTruthy();
  });
});
