import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

/** ThemeChoice is what the person picked in Settings. */
export type ThemeChoice = 'system' | 'light' | 'dark';

interface ThemeValue {
  choice: ThemeChoice;
  /** The theme in effect (system resolved). */
  theme: 'light' | 'dark';
  setChoice: (c: ThemeChoice) => void;
}

const ThemeContext = createContext<ThemeValue | null>(null);
const storageKey = 'portico.theme';

function systemTheme(): 'light' | 'dark' {
  return typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function storedChoice(): ThemeChoice {
  try {
    const v = window.localStorage.getItem(storageKey);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    // Storage disabled: follow the system.
  }
  return 'system';
}

/** ThemeProvider applies the light or dark theme to the document. */
export function ThemeProvider({ children }: { children: ReactNode }) {
  const [choice, setChoiceState] = useState<ThemeChoice>(storedChoice);
  const [system, setSystem] = useState<'light' | 'dark'>(systemTheme);

  useEffect(() => {
    const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
    if (!mq) return;
    const on = () => setSystem(mq.matches ? 'dark' : 'light');
    mq.addEventListener?.('change', on);
    return () => mq.removeEventListener?.('change', on);
  }, []);

  const theme = choice === 'system' ? system : choice;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const setChoice = useCallback((c: ThemeChoice) => {
    setChoiceState(c);
    try {
      window.localStorage.setItem(storageKey, c);
    } catch {
      // Not remembered; still applied.
    }
  }, []);

  const value = useMemo(() => ({ choice, theme, setChoice }), [choice, theme, setChoice]);
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

/** useTheme returns the theme and a way to change it. */
export function useTheme(): ThemeValue {
  const v = useContext(ThemeContext);
  if (!v) throw new Error('no <ThemeProvider> above this component');
  return v;
}
