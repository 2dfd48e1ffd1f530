import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './devhost.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const cliMain = path.join(repoRoot, 'dist/cli/main.js');

/** Runs the built CLI as a user would, its output piped (not a terminal), against `url`. */
export function runCli(
  args: string[],
  url: string,
  command = [process.execPath, cliMain],
): Promise<CliResult> {
  const [program = process.execPath, ...first] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...first, ...args], {
      cwd: repoRoot,
      env: { ...process.env, PARALLEL_RUN_URL: url, PARALLEL_RUN_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
