package com.example.${{values.java_package_name}};

public class Application {
  public static void main(String[] args) {
    System.out.println("${{ values.component_id }} listens on ${{ values.http_port }}");
  }
}
