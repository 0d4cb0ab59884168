// Hands argv to the replay in AgentCore/Replay.swift (Embedded Swift has no
// CommandLine).
int flash_replay_run(int argc, char **argv);

int main(int argc, char **argv) { return flash_replay_run(argc, argv); }
