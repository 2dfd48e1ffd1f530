/**
 * Node flags that make a child process end, cleanly (SIGTERM), within half a second of the process
 * that started it going: nothing else notices a parent killed with -9, and a child left behind keeps
 * its port, its folder and its work.
 * - Azurite keeps its data in memory and saves it to its folder as it goes: one left running after
 *   its devhost was killed kept writing the folder that a devhost restarted at once opened with a
 *   second Azurite, and runs accepted before the kill were lost for good.
 * - A devhost started by a test or a benchmark (`spawnDevHostProcess`) kept serving, and kept its
 *   scoring processes, after the script that started it was killed.
 */
export function endsWithItsParent(): string[] {
  // Its output went to the parent: once that is gone, a write there (a process logs as it closes) must
  // not end the process with EPIPE before it has saved.
  const code = `const parent = process.ppid;
for (const out of [process.stdout, process.stderr]) out.on('error', () => {});
setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM'); }, 500).unref();`;
  return ['--import', `data:text/javascript,${encodeURIComponent(code)}`];
}
