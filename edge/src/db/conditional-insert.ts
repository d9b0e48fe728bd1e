// Inserts that happen only while a condition holds, decided by SQLite in the same statement, so two requests racing
// for the last slot of a quota cannot both get it (a count followed by an insert could: both count N-1).
import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";

/**
 * `INSERT INTO table (every column) SELECT <values> WHERE <condition>`: inserts `values` (columns left out take their
 * schema default) only when `condition` is true at that moment. Chain `.returning()` to learn whether it did.
 */
export function insertWhere<T extends SQLiteTable>(db: Database, table: T, values: T["$inferInsert"], condition: SQL) {
  const given = values as Record<string, unknown>;
  const selected = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = given[key];
    if (value !== undefined) return sql.param(value, column);
    const fallback = column.default as unknown;
    if (fallback === undefined) return sql`null`;
    return is(fallback, SQL) ? fallback : sql.param(fallback, column);
  });
  return db.insert(table).select(sql`select ${sql.join(selected, sql`, `)} where ${condition}`);
}

/** A condition true while fewer than `max` rows of `table` match `where` (Infinity: always true). */
export function fewerThan(table: SQLiteTable, where: SQL, max: number): SQL {
  return Number.isFinite(max) ? sql`(select count(*) from ${table} where ${where}) < ${max}` : sql`1`;
}
