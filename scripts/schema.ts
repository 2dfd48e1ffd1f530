import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { settingsSchema } from '../core/config/schema.js';

/** `npm run schema`: writes schemas/run-settings.schema.json from the validator's field table. */
export const schemaFile = path.resolve(import.meta.dirname, '../../schemas/run-settings.schema.json');

await writeFile(schemaFile, `${JSON.stringify(settingsSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), schemaFile)}`);
