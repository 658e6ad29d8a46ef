export interface CheckOptions {
  env: NodeJS.ProcessEnv
  configPath: string | undefined
  probe: boolean
  json: boolean
  out: (line: string) => void
}

export async function runCheck (_opts: CheckOptions): Promise<number> {
  throw new Error('check is not built yet')
}
