import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { SchemaForm } from './SchemaForm';
import { Wizard } from './Wizard';
import { extractUiSchema, templateSteps, workflowSteps, type JsonSchema } from './schema';

/** Harness renders one step of a template schema (ui:* inline, as templates write them). */
function Harness({ schema, onSubmit, context }: { schema: JsonSchema; onSubmit?: (d: unknown) => void; context?: Record<string, unknown> }) {
  const { schema: s, uiSchema } = extractUiSchema(schema);
  const [data, setData] = useState<unknown>({});
  return (
    <SchemaForm schema={s} uiSchema={uiSchema} formData={data} onChange={setData} onSubmit={(d) => onSubmit?.(d)} context={context}>
      <button type="submit">Next</button>
    </SchemaForm>
  );
}

describe('SchemaForm', () => {
  it('renders an enum as a select with its values and submits the choice', async () => {
    const onSubmit = vi.fn();
    render(
      <Harness
        schema={{ type: 'object', required: ['language'], properties: { language: { title: 'Language', type: 'string', enum: ['English', 'Spanish'], default: 'English' } } }}
        onSubmit={onSubmit}
      />,
    );
    const select = screen.getByLabelText(/Language/) as HTMLSelectElement;
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(expect.arrayContaining(['English', 'Spanish']));
    await userEvent.selectOptions(select, 'Spanish');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ language: 'Spanish' }));
  });

  it('names the missing field in a required message and does not submit', async () => {
    const onSubmit = vi.fn();
    render(<Harness schema={{ type: 'object', required: ['name'], properties: { name: { title: 'Component name', type: 'string' } } }} onSubmit={onSubmit} />);
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('Component name is required')).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('explains minLength, pattern and enum failures in words', async () => {
    render(
      <Harness
        schema={{
          type: 'object',
          properties: {
            short: { title: 'Short', type: 'string', minLength: 5 },
            code: { title: 'Code', type: 'string', pattern: '^[A-Z]+$' },
          },
        }}
      />,
    );
    await userEvent.type(screen.getByLabelText('Short'), 'abc');
    await userEvent.type(screen.getByLabelText('Code'), 'abc');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('must be at least 5 characters long')).toBeTruthy();
    expect(screen.getByText('must match the pattern ^[A-Z]+$')).toBeTruthy();
  });

  it('adds and fills array items', async () => {
    const onSubmit = vi.fn();
    render(<Harness schema={{ type: 'object', properties: { hosts: { title: 'Hosts', type: 'array', items: { type: 'string', title: 'Host' } } } }} onSubmit={onSubmit} />);
    const add = screen.getAllByRole('button').find((b) => b.className.includes('btn-add'));
    expect(add).toBeTruthy();
    await userEvent.click(add!);
    const inputs = await screen.findAllByRole('textbox');
    await userEvent.type(inputs[0], 'a.example.com');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ hosts: ['a.example.com'] }));
  });

  it('renders nested objects as groups with their own fields', () => {
    render(
      <Harness
        schema={{
          type: 'object',
          properties: { database: { type: 'object', title: 'Database', properties: { host: { type: 'string', title: 'Host' }, port: { type: 'integer', title: 'Port' } } } },
        }}
      />,
    );
    expect(screen.getByText('Database')).toBeTruthy();
    expect(screen.getByLabelText('Host')).toBeTruthy();
    expect((screen.getByLabelText('Port') as HTMLInputElement).type).toBe('number');
  });

  it('honours ui:widget, ui:placeholder, ui:help and ui:options written inline', () => {
    render(
      <Harness
        schema={{
          type: 'object',
          properties: {
            description: { title: 'Description', type: 'string', 'ui:widget': 'textarea', 'ui:options': { rows: 7 }, 'ui:placeholder': 'What it does' },
            token: { title: 'Token', type: 'string', 'ui:widget': 'password', 'ui:help': 'Never shown again' },
            hidden: { type: 'string', 'ui:widget': 'hidden', default: 'x' },
          },
        }}
      />,
    );
    const description = screen.getByLabelText('Description') as HTMLTextAreaElement;
    expect(description.tagName).toBe('TEXTAREA');
    expect(description.getAttribute('rows')).toBe('7');
    expect(description.placeholder).toBe('What it does');
    expect((screen.getByLabelText('Token') as HTMLInputElement).type).toBe('password');
    expect(screen.getByText('Never shown again')).toBeTruthy();
    expect(screen.queryByLabelText('hidden')).toBeNull();
  });

  it('checks EntityNamePicker values as entity names', async () => {
    const onSubmit = vi.fn();
    render(<Harness schema={{ type: 'object', properties: { name: { title: 'Name', type: 'string', 'ui:field': 'EntityNamePicker' } } }} onSubmit={onSubmit} />);
    await userEvent.type(screen.getByLabelText('Name'), 'not valid!');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText(/must start and end with a letter or digit/)).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
    await userEvent.clear(screen.getByLabelText('Name'));
    await userEvent.type(screen.getByLabelText('Name'), 'my-service_1.2');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ name: 'my-service_1.2' }));
  });

  it('keeps a Secret out of the form data', async () => {
    const onSubmit = vi.fn();
    const setSecret = vi.fn();
    render(<Harness schema={{ type: 'object', properties: { apiKey: { title: 'API key', type: 'string', 'ui:field': 'Secret' } } }} onSubmit={onSubmit} context={{ setSecret }} />);
    await userEvent.type(screen.getByLabelText('API key'), 'hunter2');
    expect(setSecret).toHaveBeenLastCalledWith('apiKey', 'hunter2');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ apiKey: '*******' }));
  });

  it('composes a RepoUrlPicker value from host, owner and repository', async () => {
    const onSubmit = vi.fn();
    render(
      <Harness
        schema={{ type: 'object', properties: { repoUrl: { title: 'Repository location', type: 'string', 'ui:field': 'RepoUrlPicker', 'ui:options': { allowedHosts: ['github.com', 'local'] } } } }}
        onSubmit={onSubmit}
      />,
    );
    await userEvent.selectOptions(screen.getByLabelText('Host'), 'local');
    await userEvent.type(screen.getByLabelText('Owner'), 'examples');
    await userEvent.type(screen.getByLabelText('Repository'), 'demo');
    fireEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ repoUrl: 'local?owner=examples&repo=demo' }));
  });

  it('adds tags with EntityTagsPicker', async () => {
    const onSubmit = vi.fn();
    render(<Harness schema={{ type: 'object', properties: { tags: { title: 'Tags', type: 'array', items: { type: 'string' }, 'ui:field': 'EntityTagsPicker' } } }} onSubmit={onSubmit} />);
    await userEvent.type(screen.getByLabelText('Tags'), 'Go{Enter}web{Enter}');
    expect(screen.getByRole('button', { name: 'Remove tag go' })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ tags: ['go', 'web'] }));
  });
});

describe('Wizard', () => {
  it('walks a workflow schema with nested objects as steps, reviews and submits the nested data', async () => {
    const steps = workflowSteps({
      type: 'object',
      properties: {
        who: { type: 'object', title: 'Who', required: ['name'], properties: { name: { type: 'string', title: 'Name' } } },
        how: { type: 'object', title: 'How', properties: { language: { type: 'string', title: 'Language', enum: ['English', 'Spanish'] } } },
      },
    });
    expect(steps.map((s) => s.title)).toEqual(['Who', 'How']);
    const onSubmit = vi.fn(async () => {});
    function W() {
      const [data, setData] = useState<Record<string, unknown>>({});
      return <Wizard steps={steps} data={data} onDataChange={setData} onSubmit={onSubmit} labels={{ next: 'Next step', review: 'Next step', submit: 'Run' }} />;
    }
    render(<W />);
    await userEvent.click(screen.getByRole('button', { name: 'Next step' }));
    expect(await screen.findByText('Name is required')).toBeTruthy();
    await userEvent.type(screen.getByLabelText(/Name/), 'Ana');
    await userEvent.click(screen.getByRole('button', { name: 'Next step' }));
    await userEvent.selectOptions(await screen.findByLabelText(/Language/), 'Spanish');
    await userEvent.click(screen.getByRole('button', { name: 'Next step' }));
    expect(await screen.findByRole('heading', { name: 'Review' })).toBeTruthy();
    expect(screen.getByText('Ana')).toBeTruthy();
    expect(screen.getByText('Spanish')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledWith({ who: { name: 'Ana' }, how: { language: 'Spanish' } }));
  });

  it('shows a failed submit with its message', async () => {
    const steps = templateSteps([{ title: 'One', schema: { type: 'object', properties: { a: { type: 'string', title: 'A' } } } }]);
    function W() {
      const [data, setData] = useState<Record<string, unknown>>({ a: 'x' });
      return (
        <Wizard
          steps={steps}
          data={data}
          onDataChange={setData}
          onSubmit={async () => {
            throw new Error('template:default/x: Invalid input');
          }}
        />
      );
    }
    render(<W />);
    await userEvent.click(screen.getByRole('button', { name: 'Review' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'template:default/x: Invalid input');
  });
});
