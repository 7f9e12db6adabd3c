/**
 * The outbox row's contract, shared by everything that writes it (the
 * capture triggers, the initial copy) and reads it (relay, worker, admin
 * status): its table, its written columns in order, and the two SQL pieces a
 * writer fills them with. The table itself is made by 001_outbox.ts.
 */

export const OUTBOX_TABLE = '_tributary_outbox';

/** The columns a writer fills (seq is the AUTO_INCREMENT), in the order of every INSERT. */
export const OUTBOX_COLUMNS: readonly string[] = ['table_name', 'op', 'pk', 'before_image', 'after_image', 'origin', 'ts', 'schema_hash'];

/**
 * `ts`: microseconds since the epoch, from UTC_TIMESTAMP so no local time is
 * ever converted: UNIX_TIMESTAMP(NOW(6)) gives the same value but goes
 * through the session time zone, which is ambiguous in a DST fall-back hour.
 */
export const TS_MICROS = "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))";

/**
 * `origin`: the session variable the triggers record. Applications leave it
 * NULL; Tributary's own writers at a MySQL target set it to
 * echoOriginOf(<source id>), or forwardedOrigin for a change that came
 * through other databases (@tributary/model), so a database that is both a
 * target and a source does not send Tributary's writes back (invariant 6).
 */
export const ORIGIN_VARIABLE = '@tributary_origin';

/** The outbox's `origin` column holds this many characters (VARCHAR(255), 001_outbox). */
export const ORIGIN_MAX_LENGTH = 255;

/**
 * `pk` of a copy chunk: one outbox row that carries many rows of an initial
 * copy or re-sync (every one of them "the source row is now this", like a
 * single copy record), so a copy costs the source one outbox row per chunk
 * instead of one per row. Its origin is the route's copy origin, its op
 * `insert`, and its `after_image` the key image and the full image of each
 * row in turn, exactly as a single copy record would carry them, each
 * followed by COPY_CHUNK_SEPARATOR but the last. Every row of the chunk
 * takes the chunk's seq (the position of its locking read). Marked by an
 * empty `pk`, never a key image (those are JSON objects), rather than by a
 * new `op`: that would need an ALTER of a live outbox, which every captured
 * write waits on while it runs.
 */
export const COPY_CHUNK_PK = '';

/**
 * Between the texts of a copy chunk: U+001E (record separator). JSON_OBJECT,
 * which builds every image, escapes each control character inside a string
 * (\u001e) and puts none outside, so an image never holds it raw.
 */
export const COPY_CHUNK_SEPARATOR = '\u001e';

/**
 * `table_name` of a configuration marker: an outbox row of no table, which
 * no route ever wants. A table rename writes one, under the table's and the
 * outbox's locks, after the rename is recorded in the control schema and
 * before any row under the new name: a relay that meets it reads its
 * configuration again before it hands out anything after it, so no relay
 * routes the renamed table's rows with the names it knew before. The
 * reserved prefix keeps every captured table from having the name.
 */
export const CONFIG_MARKER_TABLE = '_tributary_config';
