import { defineConfig } from 'drizzle-kit';

/** Migrations for the PostgreSQL engine (`npm run db:generate:pg`); SQLite's are in drizzle.config.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/storage/postgres/tables.ts',
  out: './schema/migrations-pg',
});
