import { createHash } from 'node:crypto';
import { validateIdentifier } from '@tributary/model';

/** Every trigger Tributary installs starts with this, so ours are recognisable (and droppable) on sight. */
export const TRIGGER_PREFIX = 'trb_';

const MAX_NAME = 64;
const SUFFIX_LENGTH = '_ai'.length;

export interface TriggerNames {
  insert: string;
  update: string;
  delete: string;
}

/**
 * The names of the three capture triggers of a table: `trb_<table>_ai|au|ad`.
 * Names longer than MySQL's 64 characters keep a prefix of the table name
 * plus a hash of the whole name, so two long names sharing a prefix still
 * get different triggers (trigger names are unique per schema).
 */
export function triggerNames(table: string): TriggerNames {
  validateIdentifier(table, 'table');
  const stem = shortStem(table);
  return { insert: `${stem}_ai`, update: `${stem}_au`, delete: `${stem}_ad` };
}

/** The cascade triggers of a table (cascade-triggers.ts): `trb_<table>_bd|bu`, BEFORE DELETE and BEFORE UPDATE. */
export function cascadeTriggerNames(table: string): { delete: string; update: string } {
  validateIdentifier(table, 'table');
  const stem = shortStem(table);
  return { delete: `${stem}_bd`, update: `${stem}_bu` };
}

function shortStem(table: string): string {
  const stem = TRIGGER_PREFIX + table;
  if (stem.length + SUFFIX_LENGTH <= MAX_NAME) return stem;
  const hash = createHash('sha1').update(table).digest('hex').slice(0, 8);
  const keep = MAX_NAME - SUFFIX_LENGTH - TRIGGER_PREFIX.length - 1 - hash.length;
  return `${TRIGGER_PREFIX}${table.slice(0, keep)}_${hash}`;
}
