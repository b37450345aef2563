import { afterEach } from 'vitest';
import { cleanup } from '@testing-library/react';

// Unmount what each test rendered, so tests do not see each other's DOM.
afterEach(() => cleanup());
