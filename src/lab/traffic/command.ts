/**
 * The command line that starts the traffic agent, worked out from where this module itself lives:
 * loaded from source (a .ts URL: tests, `node --import tsx`) the agent runs from source through tsx;
 * loaded from the compiled dist/ (a .js URL: `sluice demo` from an npm install, where tsx is not
 * installed) it runs as plain node. tsx is resolved to an absolute URL here, so the agent starts
 * whatever the working directory.
 */
import { fileURLToPath } from 'node:url';

/** The argv for `agent ROLE JSON`, for an agent beside the module at `moduleUrl`. */
export function agentArgv(moduleUrl: string, role: string, args: object): string[] {
  const fromSource = new URL(moduleUrl).pathname.endsWith('.ts');
  const agent = fileURLToPath(new URL(fromSource ? './agent.ts' : './agent.js', moduleUrl));
  const tail = [agent, role, JSON.stringify(args)];
  return fromSource ? [process.execPath, '--import', tsxLoader(), ...tail] : [process.execPath, ...tail];
}

/** The command line that starts the agent in `role` with `args` (see agent.ts). */
export function agentCommand(role: string, args: object): string[] {
  return agentArgv(import.meta.url, role, args);
}

function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx'; // resolved by node from the working directory instead
  }
}
