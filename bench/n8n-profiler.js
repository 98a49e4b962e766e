/**
 * Loaded into a real n8n by `npm run bench:real -- --profile` (`node --require`): the first
 * SIGUSR2 starts V8's CPU profiler in n8n's main process, the next one stops it and writes the
 * profile to BENCH_PROFILE_FILE, so the profile covers one case's execution and not n8n's start.
 */
'use strict';
const fs = require('node:fs');
const { Session } = require('node:inspector');

let session;
process.on('SIGUSR2', () => {
	if (!session) {
		session = new Session();
		session.connect();
		session.post('Profiler.enable');
		session.post('Profiler.setSamplingInterval', { interval: 1000 });
		session.post('Profiler.start');
		return;
	}
	const running = session;
	session = undefined;
	running.post('Profiler.stop', (error, result) => {
		if (!error) fs.writeFileSync(process.env.BENCH_PROFILE_FILE, JSON.stringify(result.profile));
		running.disconnect();
	});
});
