/**
 * Runs both sandboxes in a process of their own, so the memory measured in a benchmark process is
 * that of the nodes and n8n's engine, not of the sandboxes' stored rows. Prints one line
 * `READY {"dataverse":url,"campaign":url}` and runs until SIGTERM.
 */
import { startSandbox } from '../sandbox';

async function main() {
	const sandboxes = await startSandbox({
		dataverse: { port: 0, host: '127.0.0.1', demoRecords: 0 },
		campaign: { port: 0, host: '127.0.0.1' },
	});
	const stop = async () => {
		await sandboxes.close();
		process.exit(0);
	};
	process.on('SIGTERM', () => void stop());
	process.on('SIGINT', () => void stop());
	// The parent died without stopping us: do not linger.
	process.on('disconnect', () => void stop());
	process.stdout.write(
		`READY ${JSON.stringify({ dataverse: sandboxes.dataverse.url, campaign: sandboxes.campaign.url })}\n`,
	);
}

main().catch((error) => {
	process.stderr.write(`${error?.stack ?? error}\n`);
	process.exit(1);
});
