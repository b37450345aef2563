import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from '../../api/auth';
import { Router } from '../../router';
import { TemplateWizardPage } from './TemplateWizardPage';

// The server answers the parameter schema in the template author's order
// (internal/scaffolder tests it); the wizard asks in that order and needs
// no second request to the catalog to restore it.
describe('TemplateWizardPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('asks in the order of the served schema, with one request for it', async () => {
    const schema = {
      title: 'Ordered',
      steps: [
        {
          title: 'First',
          schema: {
            title: 'First',
            properties: {
              zeta: { title: 'Zeta', type: 'string' },
              alpha: { title: 'Alpha', type: 'string' },
              mid: { title: 'Mid', type: 'string' },
            },
          },
        },
      ],
    };
    const fetch = vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url.includes('/parameter-schema')) return new Response(JSON.stringify(schema), { status: 200 });
      if (url.includes('/form-decorators')) return new Response('{"decorators": []}', { status: 200 });
      return new Response('{"error": {"name": "NotFoundError", "message": "unexpected"}}', { status: 404 });
    });
    vi.stubGlobal('fetch', fetch);
    render(
      <Router>
        <AuthTestProvider>
          <TemplateWizardPage namespace="default" name="ordered" />
        </AuthTestProvider>
      </Router>,
    );
    await screen.findByLabelText('Zeta');
    const labels = screen.getAllByRole('textbox').map((el) => el.getAttribute('id') ?? '');
    expect(labels.map((id) => id.replace(/^.*_/, ''))).toEqual(['zeta', 'alpha', 'mid']);
    expect(fetch.mock.calls.map(([u]) => String(u)).filter((u) => u.includes('/api/catalog/'))).toEqual([]);
  });
});
