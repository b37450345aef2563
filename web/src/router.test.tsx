import { describe, expect, it } from 'vitest';
import { matchPath } from './router';
import { findSection } from './routes';

describe('matchPath', () => {
  it.each([
    ['/catalog/:namespace/:kind/:name', '/catalog/default/component/petstore', { namespace: 'default', kind: 'component', name: 'petstore' }],
    ['/catalog/:namespace/:kind/:name', '/catalog/default/component/a%2Fb', { namespace: 'default', kind: 'component', name: 'a/b' }],
    ['/catalog/:namespace/:kind/:name', '/catalog/default/component', null],
    ['/catalog', '/catalog/', {}],
    ['/workflows/*', '/workflows/greeting/run', { '*': 'greeting/run' }],
    ['/notifications/settings', '/notifications', null],
  ])('%s against %s', (pattern, path, want) => {
    expect(matchPath(pattern, path)).toEqual(want);
  });
});

describe('findSection', () => {
  it.each([
    ['/', '/'],
    ['/home', '/'],
    ['/catalog', '/catalog'],
    ['/catalog/default/component/x', '/catalog'],
    ['/workflows/greeting/run', '/workflows'],
    ['/create/templates/default/x', '/create'],
    ['/notifications/', '/notifications'],
  ])('%s is served by %s', (path, section) => {
    expect(findSection(path)?.path).toBe(section);
  });

  it('knows no section for an unknown path', () => {
    expect(findSection('/catalogue')).toBeUndefined();
  });
});
