// Registration: NICK and USER in either order, the welcome, the errors before and after, the
// nickname race and the registration timeout.
#include <algorithm>
#include <barrier>
#include <thread>

#include "course/waits.hpp"
#include "test_support.hpp"

namespace chat::testing {
namespace {

// The numerics of the welcome, in order, each addressed to `nick` and sent by the server.
void expect_welcome(const Target& target, IrcClient& client, const std::string& nick) {
  const auto lines = client.read_until(is_command("422"));
  ASSERT_FALSE(lines.empty()) << "no welcome ending in 422 (no MOTD) came\n" << client.transcript();
  std::vector<std::string> numerics;
  for (const auto& line : lines) {
    if (line.command.size() == 3 && std::isdigit(static_cast<unsigned char>(line.command[0]))) {
      numerics.push_back(line.command);
      EXPECT_EQ(line.prefix, target.name) << "replies come from the server's name: " << line.raw;
      ASSERT_FALSE(line.params.empty()) << line.raw;
      EXPECT_EQ(line.params[0], nick)
          << "a reply's first parameter is the client's nick: " << line.raw;
    }
  }
  if (target.ngircd()) {
    // ngircd sends two 005 lines and the LUSERS numerics (251-266, 250) before its 422.
    ASSERT_GE(numerics.size(), 6u) << client.transcript();
    EXPECT_EQ(std::vector<std::string>(numerics.begin(), numerics.begin() + 5),
              (std::vector<std::string>{"001", "002", "003", "004", "005"}));
    EXPECT_EQ(numerics.back(), "422");
  } else {
    EXPECT_EQ(numerics, (std::vector<std::string>{"001", "002", "003", "004", "005", "422"}))
        << "registration answers 001-004, one 005 and 422, in that order\n"
        << client.transcript();
  }
  EXPECT_NE(lines.front().text().find(nick + "!"), std::string::npos)
      << "001 welcomes the full prefix nick!user@host: " << lines.front().raw;
  std::vector<std::string> tokens;  // of every 005 line
  for (const auto& line : lines) {
    if (line.command == "005") tokens.insert(tokens.end(), line.params.begin(), line.params.end());
  }
  // ngircd has three kinds of room (CHANTYPES=#&+); the course has one.
  const std::string chantypes = target.ngircd() ? "CHANTYPES=#&+" : "CHANTYPES=#";
  for (const std::string& token : {std::string("CASEMAPPING=ascii"), chantypes,
                                   std::string("NICKLEN=16"), std::string("CHANNELLEN=50")}) {
    EXPECT_NE(std::find(tokens.begin(), tokens.end(), token), tokens.end())
        << "005 announces " << token << "\n"
        << client.transcript();
  }
}

CONFORMANCE_TEST(Registration, NickThenUserWelcomes) {
  IrcClient client(target.port);
  client.send("NICK alice");
  client.send("USER alice 0 * :Alice Liddell");
  expect_welcome(target, client, "alice");
}

CONFORMANCE_TEST(Registration, UserThenNickWelcomes) {
  IrcClient client(target.port);
  client.send("USER bob 0 * :Bob");
  // ngircd answers PING before registration with 451, so the check waits for the course only.
  if (!target.ngircd()) {
    const auto early = client.sync();
    ASSERT_TRUE(early) << client.transcript();
    for (const auto& line : *early) {
      EXPECT_NE(line.command, "001") << "USER alone must not register: the nick is missing";
    }
  }
  client.send("NICK bob");
  expect_welcome(target, client, "bob");
}

CONFORMANCE_TEST(Registration, LastNickBeforeUserWins) {
  IrcClient client(target.port);
  client.send("NICK first");
  client.send("NICK second");
  client.send("USER u 0 * :U");
  const auto welcome = client.wait_for(is_command("001"));
  ASSERT_TRUE(welcome) << client.transcript();
  EXPECT_EQ(welcome->params.at(0), "second") << "the last NICK before USER is the one registered";
  // The first nickname was given back: someone else can have it.
  IrcClient other(target.port);
  EXPECT_TRUE(other.register_as("first"))
      << "'first' was replaced by 'second' before registration, so it is free again\n"
      << other.transcript();
}

CONFORMANCE_TEST(Registration, CapNegotiationDoesNotBlockRegistration) {
  IrcClient client(target.port);
  client.send("CAP LS 302");
  client.send("NICK capper");
  client.send("USER capper 0 * :Cap");
  const auto ls = client.wait_for(is_command("CAP"));
  ASSERT_TRUE(ls) << "CAP LS gets a CAP ... LS reply (an empty list will do)\n"
                  << client.transcript();
  EXPECT_EQ(ls->params.at(1), "LS") << ls->raw;
  client.send("CAP END");
  EXPECT_TRUE(client.wait_for(is_command("001")))
      << "after CAP LS, NICK, USER and CAP END the client must be welcomed\n"
      << client.transcript();
  client.send("CAP LIST");
  auto reply = client.wait_for(is_command("CAP"));
  ASSERT_TRUE(reply) << client.transcript();
  EXPECT_EQ(reply->params.at(1), "LIST") << reply->raw;
  client.send("CAP REQ :sasl");
  reply = client.wait_for(is_command("CAP"));
  ASSERT_TRUE(reply) << client.transcript();
  EXPECT_EQ(reply->params.at(1), "NAK") << "a capability request is refused: " << reply->raw;
  EXPECT_EQ(reply->text(), "sasl") << reply->raw;
  client.send("CAP FROB");
  EXPECT_TRUE(client.wait_for(is_command("410"))) << "an unknown CAP subcommand gets 410\n"
                                                  << client.transcript();
  client.send("CAP END");
  const auto after = client.sync();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty()) << "CAP END gets no reply: " << after->front().raw;
}

CONFORMANCE_TEST(Registration, NickErrorsNameTheProblem) {
  IrcClient client(target.port);
  client.send("NICK");
  // ngircd answers a NICK without a parameter with 461 (not enough parameters).
  auto reply = client.wait_for(is_command(target.ngircd() ? "461" : "431"));
  ASSERT_TRUE(reply) << "NICK with no nickname gets 431\n" << client.transcript();
  EXPECT_EQ(reply->params.at(0), "*") << "before registration the target is '*': " << reply->raw;
  for (const std::string bad : {"9lives", "has.dot", "seventeen-chars-x", "-dash", "a#b"}) {
    client.send("NICK " + bad);
    reply = client.wait_for(is_command("432"));
    ASSERT_TRUE(reply) << "'" << bad << "' is not a valid nickname: 432 expected\n"
                       << client.transcript();
    EXPECT_EQ(reply->params.at(1), bad) << reply->raw;
  }
  // Valid ones, at the edges of the rule.
  client.send("NICK [sixteen-chars]");
  client.send("USER u 0 * :U");
  EXPECT_TRUE(client.wait_for(is_command("001")))
      << "'[sixteen-chars]' (16 characters, a special first) is a valid nickname\n"
      << client.transcript();
  IrcClient single(target.port);
  EXPECT_TRUE(single.register_as("b"))
      << "'b' (1 character, a letter) is a valid nickname: the rule is 1 to 16 characters\n"
      << single.transcript();
}

CONFORMANCE_TEST(Registration, NickInUseIgnoresCase) {
  IrcClient alice(target.port);
  ASSERT_TRUE(alice.register_as("Alice")) << alice.transcript();
  IrcClient other(target.port);
  other.send("NICK aLiCe");
  const auto reply = other.wait_for(is_command("433"));
  ASSERT_TRUE(reply) << "'aLiCe' is 'Alice' with CASEMAPPING=ascii: 433 expected\n"
                     << other.transcript();
  EXPECT_EQ(reply->params.at(0), "*") << "the target is '*' before registration: " << reply->raw;
  EXPECT_EQ(reply->params.at(1), "aLiCe") << reply->raw;
  EXPECT_TRUE(other.register_as("alice2")) << "after a 433 another nick still registers\n"
                                           << other.transcript();
}

CONFORMANCE_TEST(Registration, CommandsBeforeRegistrationGet451) {
  IrcClient client(target.port);
  // ngircd ignores an unknown command before registration, and answers PING with 451.
  std::vector<std::string> commands{"JOIN #room", "PRIVMSG #room :hi", "NAMES #room",
                                    "TOPIC #room"};
  if (!target.ngircd()) commands.emplace_back("FROBNICATE");
  for (const auto& command : commands) {
    client.send(command);
    const auto reply = client.wait_for(is_command("451"));
    EXPECT_TRUE(reply) << "'" << command << "' before registration gets 451\n"
                       << client.transcript();
  }
  if (target.ngircd()) return;
  client.send("PING :still-here");
  const auto pong = client.wait_for(is_command("PONG"));
  ASSERT_TRUE(pong) << "PING works before registration\n" << client.transcript();
  EXPECT_EQ(pong->text(), "still-here") << pong->raw;
  client.send("PONG :still-here");
  const auto quiet = client.sync();
  ASSERT_TRUE(quiet) << client.transcript();
  EXPECT_TRUE(quiet->empty()) << "a PONG before registration gets no reply, not even 451: "
                              << quiet->front().raw;
  client.send("QUIT :never mind");
  EXPECT_TRUE(client.wait_for(is_command("ERROR")))
      << "QUIT works before registration: an ERROR line, then the close\n"
      << client.transcript();
  EXPECT_TRUE(client.wait_closed());
}

CONFORMANCE_TEST(Registration, UserErrors) {
  IrcClient client(target.port);
  client.send("USER onlyone");
  auto reply = client.wait_for(is_command("461"));
  ASSERT_TRUE(reply) << "USER needs 4 parameters: 461 expected\n" << client.transcript();
  EXPECT_EQ(reply->params.at(1), "USER") << reply->raw;
  IrcClient twice(target.port);
  twice.send("USER a 0 * :A");
  twice.send("USER b 0 * :B");
  // ngircd answers a second USER before NICK with 451 (not registered).
  EXPECT_TRUE(twice.wait_for(is_command(target.ngircd() ? "451" : "462")))
      << "a second USER gets 462, even before NICK\n"
      << twice.transcript();
  ASSERT_TRUE(client.register_as("dave")) << client.transcript();
  client.send("USER dave 0 * :Again");
  reply = client.wait_for(is_command("462"));
  EXPECT_TRUE(reply) << "USER after registration gets 462\n" << client.transcript();
}

// Two clients, released together by a barrier, ask for the same nickname, many times: exactly
// one may win each time. Two loop threads, so that both NICKs can be handled at the same instant.
TEST(Registration, NickRaceHasExactlyOneWinner) {
  RunningServer running(test_config(2));
  // Rounds for two seconds (scaled), at least 20: a faster machine tries more interleavings.
  course::TimeBudget budget(2000ms, 20);
  for (int round = 0; budget.more(); ++round) {
    const std::string nick = "racer" + std::to_string(round);
    IrcClient a(running.port());
    IrcClient b(running.port());
    a.send("USER a 0 * :A");
    b.send("USER b 0 * :B");
    std::barrier start(2);
    std::array<std::string, 2> outcome;
    const auto race = [&](IrcClient& client, std::string& result) {
      start.arrive_and_wait();
      client.send("NICK " + nick);
      const auto reply = client.wait_for(
          [](const Line& line) { return line.command == "001" || line.command == "433"; });
      result = reply ? reply->command : "nothing";
    };
    {
      std::jthread first([&] { race(a, outcome[0]); });
      std::jthread second([&] { race(b, outcome[1]); });
    }
    std::sort(outcome.begin(), outcome.end());
    ASSERT_EQ(outcome, (std::array<std::string, 2>{"001", "433"}))
        << "round " << round << ": two clients asked for '" << nick
        << "' at the same instant and got " << outcome[0] << " and " << outcome[1]
        << ". Looking the nickname up and taking it must be one step under one lock (or on one "
           "strand): otherwise both see it free, and both take it";
  }
}

TEST(Registration, TimeoutClosesAClientThatNeverRegisters) {
  Config config = test_config();
  config.registration_timeout = course::scaled(milliseconds(300));
  RunningServer running(config);
  IrcClient registered(running.port());
  ASSERT_TRUE(registered.register_as("quick")) << registered.transcript();
  IrcClient silent(running.port());
  const auto error = silent.wait_for(is_command("ERROR"));
  ASSERT_TRUE(error) << "a client that never registers gets an ERROR line after "
                        "Config::registration_timeout\n"
                     << silent.transcript();
  EXPECT_NE(error->text().find("registration timeout"), std::string::npos) << error->raw;
  EXPECT_TRUE(silent.wait_closed()) << "then the server closes its connection";
  // The registered client, connected before, is still there.
  EXPECT_TRUE(registered.sync()) << "a registered client must not be timed out\n"
                                 << registered.transcript();
}

CONFORMANCE_TEST(Registration, NickChangeIsAnnouncedToTheRoom) {
  auto clients = registered_clients(target.port, 2, "nc", "#room");
  clients[0].send("NICK renamed");
  for (auto& client : clients) {
    const auto line = client.wait_for(is_command("NICK"));
    ASSERT_TRUE(line) << "a nick change is echoed to the user and to its rooms' members\n"
                      << client.transcript();
    EXPECT_EQ(line->source_nick(), "nc0") << line->raw;
    EXPECT_EQ(line->text(), "renamed") << line->raw;
  }
  IrcClient late(target.port);
  EXPECT_TRUE(late.register_as("nc0")) << "the old nick is free after the change\n"
                                       << late.transcript();
  clients[1].send("NICK RENAMED");
  const auto taken = clients[1].wait_for(is_command("433"));
  ASSERT_TRUE(taken) << "a nick change to a nick in use gets 433\n" << clients[1].transcript();
  EXPECT_EQ(taken->params.at(0), "nc1")
      << "after registration the target is the nick: " << taken->raw;
  clients[1].send("NICK 1bad");
  EXPECT_TRUE(clients[1].wait_for(is_command("432"))) << clients[1].transcript();
  clients[1].send("NICK");
  EXPECT_TRUE(clients[1].wait_for(is_command(target.ngircd() ? "461" : "431")))
      << clients[1].transcript();
}

}  // namespace
}  // namespace chat::testing
