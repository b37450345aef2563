// FacetFilter is a group of checkboxes for one filter (Type, Owner, Tags...),
// each with the number of entities it would match.
import { useId, useState } from 'react';

export interface FacetValue {
  value: string;
  count: number;
}

export function FacetFilter({
  label,
  values,
  selected,
  onChange,
  display = (v) => v,
  initiallyShown = 8,
}: {
  label: string;
  values: FacetValue[];
  selected: string[];
  onChange: (selected: string[]) => void;
  display?: (value: string) => string;
  initiallyShown?: number;
}) {
  const id = useId();
  const [all, setAll] = useState(false);
  // Selected values stay listed even when the current filters leave none of them.
  const lower = new Set(values.map((v) => v.value.toLowerCase()));
  const merged = [...values, ...selected.filter((s) => !lower.has(s.toLowerCase())).map((value) => ({ value, count: 0 }))];
  const shown = all ? merged : merged.slice(0, initiallyShown);
  const isSelected = (v: string) => selected.some((s) => s.toLowerCase() === v.toLowerCase());
  if (merged.length === 0) return null;
  return (
    <fieldset className="facet" aria-labelledby={`${id}-legend`}>
      <legend id={`${id}-legend`}>{label}</legend>
      {shown.map((v) => (
        <label key={v.value} className="check facet-value">
          <input
            type="checkbox"
            checked={isSelected(v.value)}
            onChange={(e) =>
              onChange(e.target.checked ? [...selected, v.value] : selected.filter((s) => s.toLowerCase() !== v.value.toLowerCase()))
            }
          />
          <span className="facet-label">{display(v.value)}</span>
          <span className="facet-count" aria-label={`${v.count} entities`}>
            {v.count}
          </span>
        </label>
      ))}
      {merged.length > initiallyShown && (
        <button type="button" className="btn-link" onClick={() => setAll((a) => !a)}>
          {all ? 'Show fewer' : `Show all ${merged.length}`}
        </button>
      )}
    </fieldset>
  );
}
