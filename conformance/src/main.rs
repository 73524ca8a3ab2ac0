fn main() {
    println!("tcpfsm");
}
