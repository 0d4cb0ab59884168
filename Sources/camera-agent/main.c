// The process entry point. It is C because Embedded Swift has no
// `CommandLine` and SwiftPM renames a Swift `main` on some targets but not
// others; the agent itself starts in AgentCore's `camera_agent_run`
// (AgentCLI.swift), which takes argv as C hands it over.
int camera_agent_run(int argc, char **argv);

int main(int argc, char **argv) { return camera_agent_run(argc, argv); }
