/** POST /_proxy/quitquitquit: the same drain as SIGTERM, then exit 0 (1 if the drain itself failed). */
export function exitOnQuit (quitRequested: Promise<string>, stop: (reason: string) => Promise<void>): void {
  quitRequested.then(async (reason) => { await stop(reason) }).then(() => process.exit(0), () => process.exit(1))
}
