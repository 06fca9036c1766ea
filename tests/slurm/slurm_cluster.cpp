#include "slurm_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "wb_skip.h"

namespace wbtest {
namespace fs = std::filesystem;

namespace {

bool installed(const char* path) { return ::access(path, X_OK) == 0; }

}  // namespace

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

namespace {

std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

}  // namespace

SlurmCluster::SlurmCluster() {
  for (const char* p : {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged"})
    if (!installed(p)) WB_SKIP((std::string(p) + " is not installed (apt-get install slurm-wlm munge)").c_str());
  if (::geteuid() != 0) WB_SKIP("the test Slurm runs its daemons as root");
  const fs::path d = dir_.path();
  for (const char* sub : {"munge", "state", "spool", "log"}) fs::create_directories(d / sub);
  ::chmod((d / "munge").c_str(), 0700);
  {
    std::random_device rd;
    std::string key(1024, '\0');
    for (char& c : key) c = static_cast<char>(rd());
    std::ofstream(d / "munge/munge.key", std::ios::binary) << key;
    ::chmod((d / "munge/munge.key").c_str(), 0400);
  }
  const fs::path sock = d / "munge/munge.sock";
  pids_.push_back(spawn({"/usr/sbin/munged", "--foreground", "--force", "-S", sock.string(),
                         "--key-file=" + (d / "munge/munge.key").string(), "--log-file=" + (d / "log/munged.log").string(),
                         "--pid-file=" + (d / "munge/munged.pid").string(), "--seed-file=" + (d / "munge/seed").string()},
                        (d / "log/munged.out").string()));
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const int ctld_port = free_tcp_port(), slurmd_port = free_tcp_port();
  conf_ = d / "slurm.conf";
  std::ofstream c(conf_);
  c << "ClusterName=wbtest\n"
    << "SlurmctldHost=" << host << "(127.0.0.1)\n"
    << "SlurmUser=root\nSlurmdUser=root\n"
    << "SlurmctldPort=" << ctld_port << "\nSlurmdPort=" << slurmd_port << "\n"
    << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << sock.string() << "\n"
    << "StateSaveLocation=" << (d / "state").string() << "\nSlurmdSpoolDir=" << (d / "spool").string() << "\n"
    << "SlurmctldPidFile=" << (d / "slurmctld.pid").string() << "\nSlurmdPidFile=" << (d / "slurmd.pid").string() << "\n"
    << "SlurmctldLogFile=" << (d / "log/slurmctld.log").string() << "\nSlurmdLogFile=" << (d / "log/slurmd.log").string() << "\n"
    << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
    << "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
    << "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\nJobCompType=jobcomp/none\n"
    << "MpiDefault=none\nReturnToService=2\nMinJobAge=300\nSlurmdTimeout=30\nKillWait=2\n"
    << "NodeName=" << host << " NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
    << "PartitionName=debug Nodes=" << host << " Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE\n";
  c.close();
  ::setenv("SLURM_CONF", conf_.c_str(), 1);
  // munged's socket first: slurmctld authenticates through it.
  for (int i = 0; i < 100 && !fs::exists(sock); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pids_.push_back(spawn({"/usr/sbin/slurmctld", "-D", "-f", conf_.string()}, (d / "log/slurmctld.out").string()));
  pids_.push_back(spawn({"/usr/sbin/slurmd", "-D", "-f", conf_.string()}, (d / "log/slurmd.out").string()));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string state;
  while (std::chrono::steady_clock::now() < until) {
    state = run("sinfo -h -o %T");
    if (state.rfind("idle", 0) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  stop_all();
  throw std::runtime_error("the test Slurm did not come up within 30 s (sinfo: " + state +
                           "); logs in " + (d / "log").string());
}

SlurmCluster::~SlurmCluster() {
  stop_all();
  ::unsetenv("SLURM_CONF");
}

pid_t SlurmCluster::spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

void SlurmCluster::stop_all() {
  for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) {
    const pid_t pid = *it;
    ::kill(pid, SIGTERM);
    int st = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = ::waitpid(pid, &st, WNOHANG) == pid;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
    }
  }
  pids_.clear();
}

std::string SlurmCluster::run(const std::string& command_line) const {
  return shell("SLURM_CONF='" + conf_.string() + "' " + command_line);
}

std::string SlurmCluster::job_state(const std::string& id) const {
  std::string s = run("squeue -h -j " + id + " -o %T");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (!s.empty() && s.find('\n') == std::string::npos && s.find(' ') == std::string::npos) return s;
  s = run("scontrol show job " + id);
  const auto at = s.find("JobState=");
  if (at == std::string::npos) return "";
  return s.substr(at + 9, s.find_first_of(" \n", at + 9) - at - 9);
}

}  // namespace wbtest
